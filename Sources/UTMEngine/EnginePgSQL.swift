import UTMCore
import UTMFlow
import UTMAppLayer
import UTMOutput

/// PostgreSQL hooks: stream bytes into the flow's `PgSQLParser`, one `pgsql` event per
/// transaction as it completes (client → server endpoints, as Suricata logs transactions).
extension Engine {
    func pgsqlData(_ i: Int, _ data: ByteView, _ chunk: StreamChunk, _ m: EVEEndpoints, time: Timestamp,
                   bits: inout UInt32) {
        pgsql.items[i].feed(data, direction: chunk.direction, gap: chunk.gapBefore) { p in
            self.eve.writePgSQL(p, time: time, m)
        }
        // After an accepted SSLRequest the session is TLS: nothing more to read or match.
        if pgsql.items[i].encrypted { bits |= FlowBits.parserDone | FlowBits.encrypted }
    }

    /// The flow ended: the transaction still open (a request with no answer) is logged, unless
    /// the IPS cut the flow short (as for HTTP: Suricata 8 does not log those).
    func pgsqlEnd(_ i: Int, _ flow: Flow, _ m: EVEEndpoints) {
        guard flow.engineFlags & FlowBits.ipsBlocked == 0 else { return }
        let time = flow.lastSeen
        pgsql.items[i].finish { p in self.eve.writePgSQL(p, time: time, m) }
    }
}
