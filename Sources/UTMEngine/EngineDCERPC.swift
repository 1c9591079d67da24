import UTMCore
import UTMFlow
import UTMAppLayer
import UTMDetect
import UTMOutput

/// DCE/RPC hooks: stream bytes into the flow's `DCERPCParser`; the rules see a request when
/// its last fragment came and the response side when the call completes; one `dcerpc` event
/// per transaction (bind/bind_ack, request/response) as it completes (client → server
/// endpoints).
extension Engine {
    func dcerpcData(_ i: Int, _ data: ByteView, _ chunk: StreamChunk, _ m: EVEEndpoints, time: Timestamp) {
        dcerpc.items[i].feed(data, direction: chunk.direction, gap: chunk.gapBefore) { p, kind, tx in
            if self.detect != nil { self.detectDCERPC(p, kind, tx) }
            if kind == .complete { self.eve.writeDCERPC(p, tx, time: time, m) }
        }
    }

    /// The flow ended: calls still waiting for a response are logged, unless the IPS cut the
    /// flow short (as for SMB).
    func dcerpcEnd(_ i: Int, _ flow: Flow, _ m: EVEEndpoints) {
        guard flow.engineFlags & FlowBits.ipsBlocked == 0 else { return }
        let time = flow.lastSeen
        dcerpc.items[i].finish { p, _, tx in self.eve.writeDCERPC(p, tx, time: time, m) }
    }

    // MARK: DCE/RPC over SMB named pipes

    /// Named-pipe data of SMB slot `i` (a WRITE, READ or pipe IOCTL): fed to the flow's
    /// DCE/RPC parser, which the rules see as on the dcerpc point (facts of the SMB flow: the
    /// dcerpc rules cover SMB flows). One parser per SMB flow, its bindings shared by the
    /// flow's pipes as Suricata's SMB state keeps one `dcerpc_ifaces`: data of another FileId
    /// or data cut short by the SMB record buffer restarts only the PDU framing
    /// (`resetFraming`, counted in the parser's `framingResets`), so one byte written to a
    /// second pipe no longer wipes the binds of the first (review 12A); on a pipe switch the
    /// calls and their stubs stay too when no stub bytes were cut (review 12E). No `dcerpc` events:
    /// Suricata logs these inside `smb`.
    func smbPipeData(_ i: Int, _ dir: Direction, _ file: UInt64, _ bytes: ByteView, _ cut: Bool) {
        guard detect != nil, i < smbPipeSlot.count else { return }
        var s = smbPipeSlot[i]
        if s < 0 {
            guard let got = smbPipes.acquire() else { stats.appStateExhausted &+= 1; return }
            s = got
            smbPipeSlot[i] = s
            smbPipes.items[Int(s)].reset()
            smbPipeFile[i] = file
        } else if smbPipeFile[i] != file {
            smbPipes.items[Int(s)].resetFraming(keepingCalls: true)
            smbPipeFile[i] = file
        }
        smbPipes.items[Int(s)].feed(bytes, direction: dir, gap: false) { p, kind, tx in
            self.detectDCERPC(p, kind, tx, app: .smb)
        }
        if cut { smbPipes.items[Int(s)].resetFraming() }
    }

    func smbPipeRelease(_ i: Int) {
        guard i < smbPipeSlot.count, smbPipeSlot[i] >= 0 else { return }
        smbPipes.release(smbPipeSlot[i])
        smbPipeSlot[i] = -1
    }

    /// One side of a call (a REQUEST on its last fragment, a RESPONSE when the call completes;
    /// binds, faults and calls logged unanswered are not inspected): facts for
    /// `dcerpc.iface` / `dcerpc.opnum` and the side's stub as `dcerpc.stub_data`. The opnum
    /// and interface come from the request, so a response whose request came before the
    /// capture matches neither (Suricata's first_req_seen).
    func detectDCERPC(_ p: borrowing DCERPCParser, _ kind: DCERPCEventKind, _ tx: DCERPCTransaction, app: AppProto = .dcerpc) {
        guard let d = detect, detectCursor.slot >= 0 else { return }
        let dir: Direction
        switch kind {
        case .request: dir = .toServer
        case .complete:
            guard tx.responseType == DCERPCType.response else { return }
            dir = .toClient
        }
        var f = detectFacts(dir, app: app, stream: false)
        if tx.requestType == DCERPCType.request {
            f.dceOpnum = Int32(tx.opnum)
            if let b = p.interface(contextID: tx.contextID) {
                f.dceIfaceHi = b.uuid.hi
                f.dceIfaceLo = b.uuid.lo
                f.dceIfaceVersion = b.versionMajor
                f.dceIfaceState = (b.acked && b.result == 0 ? 1 : 0) | (b.firstFrag ? 2 : 0)
            }
        }
        f.dceLittleEndian = dir == .toServer ? tx.requestLittleEndian : tx.responseLittleEndian
        let slot = detectCursor.slot, time = detectCursor.time
        // The stub is lent for the inspection only: the view must not outlive `withStub`.
        p.withStub(dir) { stub in
            var buffers = InspectionBuffers()
            if d.uses(.dcerpcStubData) { buffers[.dcerpcStubData] = stub }
            d.inspectApp(.dcerpc, phase: 1, f, buffers: buffers, slot: slot, time: time) { s, alert in
                self.detectMatched(s, alert, f)
            }
        }
    }
}
