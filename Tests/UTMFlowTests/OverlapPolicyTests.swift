import Testing
import UTMCore
import UTMDecode
@testable import UTMFlow

/// Overlap policies per receiving host (Suricata's host-os-policy) and the inline check of
/// retransmissions against forwarded bytes: the classic evasion is two segments with the same
/// sequence numbers and different bytes.
@Suite struct OverlapPolicyTests {
    func config(_ edit: (inout FlowConfig) -> Void) -> FlowConfig {
        var c = testConfig()
        edit(&c)
        return c
    }

    @Test func policyTableFollowsSuricata() {
        // Exact overlap (same start, same end): old-linux, solaris, hpux11 and last take the new bytes.
        let exact = OverlapPolicy.allCases.filter { $0.newDataWins(newStart: 0, newEnd: 4, oldStart: 0, oldEnd: 4) }
        #expect(Set(exact) == [.last, .oldLinux, .solaris, .hpux11])
        // Same start, new one longer: linux too.
        #expect(OverlapPolicy.linux.newDataWins(newStart: 0, newEnd: 6, oldStart: 0, oldEnd: 4))
        #expect(!OverlapPolicy.bsd.newDataWins(newStart: 0, newEnd: 6, oldStart: 0, oldEnd: 4))
        // New starts before the held one: the BSD family and both Linuxes take it, first never.
        #expect(OverlapPolicy.bsd.newDataWins(newStart: 0, newEnd: 3, oldStart: 2, oldEnd: 6))
        #expect(OverlapPolicy.windows.newDataWins(newStart: 0, newEnd: 3, oldStart: 2, oldEnd: 6))
        #expect(!OverlapPolicy.first.newDataWins(newStart: 0, newEnd: 3, oldStart: 2, oldEnd: 6))
        #expect(!OverlapPolicy.vista.newDataWins(newStart: 0, newEnd: 3, oldStart: 2, oldEnd: 6))
        #expect(!OverlapPolicy.solaris.newDataWins(newStart: 0, newEnd: 3, oldStart: 2, oldEnd: 6))
        // New starts after and ends after: only solaris and hpux11.
        #expect(OverlapPolicy.solaris.newDataWins(newStart: 2, newEnd: 8, oldStart: 0, oldEnd: 6))
        #expect(!OverlapPolicy.bsd.newDataWins(newStart: 2, newEnd: 8, oldStart: 0, oldEnd: 6))
        for p in OverlapPolicy.allCases { #expect(OverlapPolicy(name: p.name) == p) }
        #expect(OverlapPolicy(name: "plan9") == nil)
    }

    @Test func hostTableTakesTheMostSpecificNetwork() throws {
        var t = HostOSPolicies()
        var added: [Bool] = []
        for (net, p) in [("0.0.0.0/0", OverlapPolicy.windows), ("2.2.2.2", .oldLinux), ("10.1.0.0/16", .solaris),
                         ("fd00:85::/64", .macos), ("10.0.0.0/33", .bsd), ("nonsense", .bsd), ("10.0.0.0/x", .bsd)] {
            added.append(t.add(net, p))
        }
        #expect(added == [true, true, true, true, false, false, false])
        #expect(t.policy(for: IPAddress(v4: 0x0202_0202)) == .oldLinux)
        #expect(t.policy(for: IPAddress(v4: 0x0202_0203)) == .windows)
        #expect(t.policy(for: IPAddress(v4: 0x0A01_FFFE)) == .solaris)
        #expect(t.policy(for: try #require(IPAddress("fd00:85::1"))) == .macos)
        #expect(t.policy(for: try #require(IPAddress("fd00:86::1"))) == nil)
    }

    /// IDS with old-linux at the server: GOOD then EVIL at the same sequence numbers. The bytes
    /// wait for the server's ACK, and the server's OS takes the second copy.
    @Test func heldBytesFollowTheReceiversPolicy() {
        var h = Harness(config { c in
            c.holdUntilAcked = true
            _ = c.hostOSPolicies.add("0.0.0.0/0", .windows)
            _ = c.hostOSPolicies.add("10.0.0.2", .oldLinux)
        })
        let (c, s) = h.handshake(client: 1, server: 1000)
        h.send(.toServer, .ack, seq: c, ack: s, data: bytes("GOOD"))
        #expect(h.streams[0].isEmpty)  // not acknowledged yet
        h.send(.toServer, .ack, seq: c, ack: s, data: bytes("EVIL"))
        #expect(h.flow.toServer.overlapPolicy == .oldLinux && h.flow.toClient.overlapPolicy == .windows)
        h.send(.toClient, .ack, seq: s, ack: c &+ 4)
        #expect(h.streams[0] == bytes("EVIL"))
        #expect(h.reasm.counters.overlapConflicts == 1 && h.reasm.poolChunksInUse == 0)
        // Acknowledged bytes are final: a third copy changes nothing.
        h.send(.toServer, .ack, seq: c, ack: s, data: bytes("UGLY"))
        h.send(.toServer, .ack, seq: c &+ 4, ack: s, data: bytes("!"))
        h.send(.toClient, .ack, seq: s, ack: c &+ 5)
        #expect(h.streams[0] == bytes("EVIL!"))
    }

    @Test func heldBytesUnderAFirstWinsPolicyKeepTheFirstCopy() {
        var h = Harness(config { c in
            c.holdUntilAcked = true
            _ = c.hostOSPolicies.add("0.0.0.0/0", .bsd)
        })
        let (c, s) = h.handshake(client: 1, server: 1000)
        h.send(.toServer, .ack, seq: c, ack: s, data: bytes("GOOD"))
        h.send(.toServer, .ack, seq: c, ack: s, data: bytes("EVIL"))
        // Split acknowledgements, out of order data and a FIN still come out whole and in order.
        h.send(.toServer, .ack, seq: c &+ 8, ack: s, data: bytes("ghij"))
        h.send(.toServer, .ack, seq: c &+ 4, ack: s, data: bytes("cdef"))
        h.send(.toClient, .ack, seq: s, ack: c &+ 4)
        #expect(h.streams[0] == bytes("GOOD"))
        h.send(.toServer, [.ack, .fin], seq: c &+ 12, ack: s)
        h.send(.toClient, .ack, seq: s, ack: c &+ 13)
        #expect(h.streams[0] == bytes("GOODcdefghij"))
        #expect(h.flow.toServer.done && h.reasm.poolChunksInUse == 0)
    }

    /// A receiver that acknowledges bytes the box never saw: the hole is a gap, the rest flows.
    @Test func acknowledgedHoleBecomesAGap() {
        var h = Harness(config { c in
            c.holdUntilAcked = true
            _ = c.hostOSPolicies.add("0.0.0.0/0", .linux)
        })
        let (c, s) = h.handshake(client: 1, server: 1000)
        h.send(.toServer, .ack, seq: c &+ 4, ack: s, data: bytes("late"))
        h.send(.toClient, .ack, seq: s, ack: c &+ 8)
        #expect(h.streams[0] == bytes("late"))
        #expect(h.chunks.last?.gapBefore == true && h.chunks.last?.streamOffset == 4)
    }

    /// Inline: forwarded bytes are kept until acknowledged; a retransmission carrying other
    /// bytes yields the payload as the receiver keeps it, and the stream is not changed.
    @Test func inlineRetransmissionWithOtherBytesIsCaught() throws {
        var h = Harness(config { $0.retainUnacked = true })
        let (c, s) = h.handshake(client: 1, server: 1000)
        h.send(.toServer, .ack, seq: c, ack: s, data: bytes("GOODbye"))
        #expect(h.streams[0] == bytes("GOODbye") && h.reasm.conflictPayload == nil)
        h.reasm.beginPacket()
        h.send(.toServer, .ack, seq: c, ack: s, data: bytes("GOODbye"))
        #expect(h.reasm.conflictPayload == nil)  // an honest retransmission
        h.send(.toServer, .ack, seq: c &+ 4, ack: s, data: bytes("EVIL!"))  // "bye" rewritten, "L!" new
        let patched = try #require(h.reasm.conflictPayload)
        var out: [UInt8] = []
        patched.append(to: &out)
        #expect(out == bytes("byeL!"))
        #expect(h.streams[0] == bytes("GOODbyeL!"))
        h.reasm.beginPacket()
        #expect(h.reasm.conflictPayload == nil)
        // Once acknowledged, the copies are gone.
        h.send(.toClient, .ack, seq: s, ack: c &+ 7)
        #expect(h.reasm.poolChunksInUse == 1)
        h.send(.toClient, .ack, seq: s, ack: c &+ 9)
        #expect(h.reasm.poolChunksInUse == 0)
    }

    @Test func inlineCopiesNeverTakeMoreThanHalfThePool() {
        var h = Harness(config { c in
            c.retainUnacked = true
            c.segmentPoolBytes = 16 * 512
        })
        let (c, _) = h.handshake(client: 1, server: 1000)
        let big = [UInt8](repeating: 0x41, count: 512)
        for i in 0..<20 { h.send(.toServer, .ack, seq: c &+ UInt32(i * 512), data: big) }
        #expect(h.streams[0].count == 20 * 512)
        #expect(h.reasm.poolChunksInUse == 8)
        // Out-of-order bytes still find room.
        h.send(.toServer, .ack, seq: c &+ 30 * 512, data: big)
        #expect(h.reasm.poolChunksInUse == 9)
    }
}
