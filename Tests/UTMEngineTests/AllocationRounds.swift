import AllocationCounter
import UTMCore
@testable import UTMEngine

/// The steady-state check of every engine allocation test, in one place: `traffic` is replayed
/// round after round, each round one virtual hour after the previous, so the previous round's
/// flows end on the new packets (timeout or a SYN on a closed session) and every round creates
/// flows, ends old ones and recycles their parser slots, as in steady state. `warmUp` rounds
/// first (they fill the pools, OpenSSL/zlib lazy state and the EVE buffer), then `afterWarmUp`
/// (where a test reads the counters it compares afterwards), then the heap allocations of
/// `rounds` more rounds are counted and returned.
func steadyStateAllocations(_ engine: Engine, _ traffic: [[UInt8]], rounds: Int, warmUp: Int = 3,
                            afterWarmUp: () -> Void = {}) -> Int {
    var clock: Int64 = 1_700_000_000
    for _ in 0 ..< warmUp { replayRound(engine, traffic, clock: &clock) }
    afterWarmUp()
    return countAllocations {
        for _ in 0 ..< rounds { replayRound(engine, traffic, clock: &clock) }
    }
}

/// One round of `steadyStateAllocations`: every frame, an hour after the last round; the EVE
/// output is dropped (the counts stay).
func replayRound(_ engine: Engine, _ traffic: [[UInt8]], clock: inout Int64) {
    clock += 3600
    for i in traffic.indices {
        _ = traffic[i].withByteView { view in
            engine.process(frame: view, linkType: .ethernet, timestamp: Timestamp(seconds: clock, micros: Int32(i)),
                           wireLength: view.count)
        }
    }
    engine.eve.reset()
}
