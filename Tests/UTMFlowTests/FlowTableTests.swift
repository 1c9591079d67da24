import Testing
import UTMCore
import UTMDecode
@testable import UTMFlow

@Suite struct FlowTableTests {
    @Test func handshakeAndCloseWalkTheStates() {
        var h = Harness()
        let syn = h.send(.toServer, .syn, seq: 100)
        #expect(syn?.isNew == true && syn?.direction == .toServer)
        #expect(h.flow.tcpState == .synSent)
        let sa = h.send(.toClient, [.syn, .ack], seq: 5000, ack: 101)
        #expect(sa?.isNew == false && sa?.direction == .toClient && sa?.ref == syn?.ref)
        #expect(h.flow.tcpState == .synRecv)
        h.send(.toServer, .ack, seq: 101, ack: 5001)
        #expect(h.flow.tcpState == .established)
        #expect(!h.flow.midstream)
        #expect(h.flow.clientIP == clientIP && h.flow.serverPort == 80 && h.flow.clientPort == 40000)
        h.send(.toServer, [.ack, .psh], seq: 101, ack: 5001, data: bytes("GET / HTTP/1.0\r\n\r\n"))
        h.send(.toClient, [.ack, .psh], seq: 5001, ack: 119, data: bytes("HTTP/1.0 200 OK\r\n\r\n"))
        #expect(h.streams[0] == bytes("GET / HTTP/1.0\r\n\r\n"))
        #expect(h.streams[1] == bytes("HTTP/1.0 200 OK\r\n\r\n"))
        // The client closes first: Suricata's CLOSE_WAIT, then LAST_ACK on the server's FIN
        // (session 11; FIN_WAIT1/2 are a close the server starts, TCPCloseStateTests).
        h.send(.toServer, [.fin, .ack], seq: 119, ack: 5020)
        #expect(h.flow.tcpState == .closeWait)
        h.send(.toClient, .ack, seq: 5020, ack: 120)
        #expect(h.flow.tcpState == .closeWait)
        h.send(.toClient, [.fin, .ack], seq: 5020, ack: 120)
        #expect(h.flow.tcpState == .lastAck)
        h.send(.toServer, .ack, seq: 120, ack: 5021)
        #expect(h.flow.tcpState == .closed)
        #expect(h.flow.packets.0 == 5 && h.flow.packets.1 == 4)
        #expect(h.flow.toServer.done && h.flow.toClient.done)
        #expect(h.table.counters.tcpInvalid == 0)
        // Closed sessions leave after tcpClosed (60 s), with their own reason.
        h.expire(seconds: 1059)
        #expect(h.table.counters.active == 1)
        h.expire(seconds: 1061)
        #expect(h.ended == [.tcpClosed])
        #expect(h.table.counters.active == 0)
        #expect(!h.table.isValid(h.lastRef!))
    }

    @Test func synAckSeenFirstMakesItsSenderTheServer() {
        var h = Harness()
        let r = h.send(.toClient, [.syn, .ack], seq: 7000, ack: 101)
        #expect(r?.direction == .toClient)
        #expect(h.flow.clientIP == clientIP && h.flow.serverIP == serverIP)
        #expect(h.flow.midstream && h.flow.tcpState == .synRecv)
        #expect(h.table.counters.tcpMidstream == 1)
    }

    @Test func midstreamPickUpStartsAtTheFirstSeenSequence() {
        var h = Harness()
        h.send(.toServer, [.ack, .psh], seq: 123_456, ack: 9, data: bytes("hello "))
        #expect(h.flow.midstream && h.flow.tcpState == .established)
        h.send(.toServer, [.ack, .psh], seq: 123_462, ack: 9, data: bytes("world"))
        h.send(.toClient, [.ack, .psh], seq: 9, ack: 123_467, data: bytes("ok"))
        #expect(h.streams[0] == bytes("hello world"))
        #expect(h.streams[1] == bytes("ok"))
        #expect(h.chunks.first?.streamOffset == 0)
        #expect(h.table.counters.tcpMidstream == 1)
    }

    @Test func bothDirectionsShareOneFlowForIPv6UDPAndICMP() {
        var t = FlowTable(config: testConfig())
        let a = IPAddress("2001:db8::1")!, b = IPAddress("2001:db8::2")!
        let q = t.track(packet(from: a, 5353, to: b, 53, proto: IPProto.udp))
        let r = t.track(packet(from: b, 53, to: a, 5353, proto: IPProto.udp))
        #expect(q?.isNew == true && r?.isNew == false && q?.ref == r?.ref)
        #expect(q?.direction == .toServer && r?.direction == .toClient)
        #expect(t[q!.ref].hasBothDirections)
        let other = t.track(packet(from: a, 5354, to: b, 53, proto: IPProto.udp))
        #expect(other?.isNew == true)
        let e = t.track(packet(from: a, 0, to: b, 0, proto: IPProto.icmpv6))
        let f = t.track(packet(from: b, 7, to: a, 9, proto: IPProto.icmpv6))
        #expect(e?.ref == f?.ref && f?.direction == .toClient)
        #expect(t.counters.active == 3)
        var none = DecodedPacket()
        none.ipVersion = 0
        #expect(t.track(none) == nil)
        #expect(t.counters.untracked == 1)
    }

    @Test func synFloodOfTenTimesCapacityStaysWithinCapacity() {
        var t = FlowTable(config: testConfig(capacity: 64))
        var got = 0, ends = 0
        for i in 0..<640 {
            let src = IPAddress(v4: 0xC0A8_0000 | UInt32(i))
            if t.track(packet(from: src, UInt16(1024 + i % 60000), to: serverIP, 80, flags: .syn, seq: UInt32(i)),
                       onEnd: { _, _, _ in ends += 1 }) != nil { got += 1 }
            #expect(t.counters.active <= 64)
        }
        #expect(got == 640)
        #expect(t.counters.evicted == 576 && ends == 576)
        #expect(t.slots.count == 64)
    }

    @Test func busyEstablishedFlowsAreNotEvictedByAFlood() {
        var t = FlowTable(config: testConfig(capacity: 8))
        for i in 0..<8 {
            // Both sides speak (one-sided midstream sessions are evicted first, below).
            let c = IPAddress(v4: 0x0A00_0100 | UInt32(i))
            _ = t.track(packet(from: c, 1000, to: serverIP, 80, flags: [.ack], seq: 1, payload: .empty))
            _ = t.track(packet(from: serverIP, 80, to: c, 1000, flags: [.ack], seq: 1, payload: .empty))
        }
        #expect(t.counters.active == 8)
        for i in 0..<100 {
            let src = IPAddress(v4: 0xC0A8_0000 | UInt32(i))
            #expect(t.track(packet(from: src, 2000, to: serverIP, 80, flags: .syn, seconds: 1001)) == nil)
        }
        #expect(t.counters.tableFull == 100 && t.counters.evicted == 0)
        // Once they have been idle for evictEstablishedIdle (100 s), they may go.
        #expect(t.track(packet(from: clientIP, 3000, to: serverIP, 80, flags: .syn, seconds: 1101)) != nil)
        #expect(t.counters.evicted == 1)
    }

    /// Session 11: a flood of forged midstream packets (one each, never answered) must not
    /// hold the table: such sessions are evicted like half-open ones, so a real new flow gets a
    /// slot at once and a two-sided session is kept.
    @Test func oneSidedMidstreamSessionsAreEvictedFirst() {
        var t = FlowTable(config: testConfig(capacity: 8))
        _ = t.track(packet(from: clientIP, 999, to: serverIP, 80, flags: [.ack], seq: 1, payload: .empty))
        _ = t.track(packet(from: serverIP, 80, to: clientIP, 999, flags: [.ack], seq: 1, payload: .empty))
        for i in 0..<7 {
            let src = IPAddress(v4: 0xC0A8_0000 | UInt32(i))
            _ = t.track(packet(from: src, 2000, to: serverIP, 80, flags: [.fin, .ack], seq: 1, payload: .empty))
        }
        #expect(t.counters.active == 8)
        for i in 0..<20 {
            let c = IPAddress(v4: 0x0A00_0200 | UInt32(i))
            #expect(t.track(packet(from: c, 3000, to: serverIP, 443, flags: .syn, seconds: 1001)) != nil)
        }
        #expect(t.counters.tableFull == 0)
        // The two-sided session is still there.
        #expect(t.track(packet(from: clientIP, 999, to: serverIP, 80, flags: [.ack], seq: 1, payload: .empty,
                               seconds: 1002))?.isNew == false)
    }

    @Test func timeoutsPerProtocolAndState() {
        var t = FlowTable(config: testConfig())
        var reasons: [FlowEndReason] = []
        let udpNew = t.track(packet(from: clientIP, 1, to: serverIP, 53, proto: IPProto.udp))!.ref
        let udpEst = t.track(packet(from: clientIP, 2, to: serverIP, 53, proto: IPProto.udp))!.ref
        _ = t.track(packet(from: serverIP, 53, to: clientIP, 2, proto: IPProto.udp))
        let tcpNew = t.track(packet(from: clientIP, 3, to: serverIP, 80, flags: .syn))!.ref
        let tcpEst = t.track(packet(from: clientIP, 4, to: serverIP, 80, flags: .ack, seq: 1))!.ref
        func run(_ s: Int64) { t.expire(now: Timestamp(seconds: s, micros: 0), budget: .max) { _, _, r in reasons.append(r) } }
        run(1030)
        #expect(t.isValid(udpNew))
        run(1031)
        #expect(!t.isValid(udpNew) && t.isValid(udpEst) && t.isValid(tcpNew))
        run(1061)
        #expect(!t.isValid(tcpNew) && t.isValid(udpEst))
        run(1301)
        #expect(!t.isValid(udpEst) && t.isValid(tcpEst))
        run(1601)
        #expect(!t.isValid(tcpEst))
        #expect(reasons == [.timeout, .timeout, .timeout, .timeout])
        #expect(t.counters.timedOut == 4 && t.counters.active == 0)
    }

    @Test func expireLooksAtNoMoreThanItsBudget() {
        var t = FlowTable(config: testConfig(capacity: 16))
        for i in 0..<16 { _ = t.track(packet(from: clientIP, UInt16(i), to: serverIP, 53, proto: IPProto.udp)) }
        var n = 0
        t.expire(now: Timestamp(seconds: 5000, micros: 0), budget: 3) { _, _, _ in n += 1 }
        #expect(n == 3)
        t.expire(now: Timestamp(seconds: 5000, micros: 0), budget: 5) { _, _, _ in n += 1 }
        #expect(n == 8)
        t.removeAll { _, _, r in #expect(r == .shutdown); n += 1 }
        #expect(n == 16 && t.counters.active == 0 && t.counters.shutdown == 8)
    }

    @Test func aFlowTimedOutOnItsNextPacketIsReplaced() {
        var t = FlowTable(config: testConfig())
        var reasons: [FlowEndReason] = []
        let a = t.track(packet(from: clientIP, 1, to: serverIP, 53, proto: IPProto.udp))!
        let b = t.track(packet(from: clientIP, 1, to: serverIP, 53, proto: IPProto.udp, seconds: 2000)) { _, _, r in
            reasons.append(r)
        }!
        #expect(b.isNew && a.ref != b.ref && reasons == [.timeout])
        #expect(t[a.ref].id == 0)  // stale handles read an empty flow
        t[a.ref].engineFlags = 7   // and writes go nowhere
        #expect(t[b.ref].engineFlags == 0)
    }

    @Test func newSynOnAClosedSessionStartsANewFlow() {
        var h = Harness()
        _ = h.handshake(client: 1, server: 2)
        let old = h.lastRef!
        h.send(.toClient, [.rst, .ack], seq: 3, ack: 2)
        #expect(h.flow.tcpState == .closed)
        let r = h.send(.toServer, .syn, seq: 99_999)
        #expect(r?.isNew == true && r?.ref != old && h.ended == [.tcpClosed])
        #expect(h.table.counters.tcpReused == 1)
    }

    @Test func flowIDsAreUniqueAndNonZero() {
        var t = FlowTable(config: testConfig(capacity: 4096))
        var seen = Set<UInt64>()
        for i in 0..<4096 {
            let r = t.track(packet(from: IPAddress(v4: UInt32(i)), 1, to: serverIP, 2, proto: IPProto.udp))!
            let id = t[r.ref].id
            #expect(id != 0 && id < 1 << 48)
            seen.insert(id)
        }
        #expect(seen.count == 4096)
    }

    @Test func invalidFlagsAndBlindRstAreCounted() {
        var h = Harness()
        let (c, s) = h.handshake(client: 1000, server: 2000)
        h.send(.toServer, [.syn, .fin], seq: c)
        #expect(h.table.counters.tcpInvalid == 1)
        h.send(.toClient, .rst, seq: s &+ 1_000_000)
        #expect(h.table.counters.tcpInvalid == 2 && h.flow.tcpState == .established)
        h.send(.toClient, .rst, seq: s)
        #expect(h.flow.tcpState == .closed && h.flow.rstSeen)
    }
}
