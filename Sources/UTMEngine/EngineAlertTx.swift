import UTMFlow
import UTMDetect

/// App-layer metadata on alerts of packet rules (Suricata's `detect.guess-applayer-tx`): a rule
/// that reads no app-layer buffer is tied to the flow's transaction when there is exactly one
/// (a TLS flow has one), and the alert carries it, so a firewall-style "drop everything else"
/// still says which SNI it dropped. A transaction rides along on at most
/// `streamTxLogLimit` alerts per flow (`detect.stream-tx-log-limit`), as in Suricata 8.
///
/// Only for packet rules, which run after the stream stage: there the flow table may be read.
extension Engine {
    /// The TLS parser slot whose transaction this alert carries, or -1.
    @inline(__always)
    func alertTxSlot() -> Int {
        guard config.modes.guessAppLayerTx, detectCursor.inPacketRules else { return -1 }
        let ref = detectCursor.ref
        guard flows.isValid(ref) else { return -1 }
        let flow = flows.flow(ref)
        guard flow.appProto == .tls, flow.appSlot >= 0, tls.items[Int(flow.appSlot)].clientHello != nil else { return -1 }
        let i = Int(ref.index)
        guard i >= 0, i < alertTxLogged.count else { return -1 }
        let key = flow.id << 16
        var logged = alertTxLogged[i]
        if logged >> 16 != flow.id { logged = key }
        guard Int(logged & 0xffff) < config.modes.streamTxLogLimit else { return -1 }
        alertTxLogged[i] = logged &+ 1
        return Int(flow.appSlot)
    }
}
