import Glibc
import CAllocationCounter

// Test support shared by every test target (they link into one binary, so malloc may be
// interposed only once). The interposing malloc family is C (`Tests/CAllocationCounter`);
// this is the Swift face of it.
//
// Counts heap allocations made by the current thread, to prove the packet path allocates
// nothing. Only the thread that armed the counter is counted, so tests running in parallel on
// other threads do not disturb it.

/// Heap allocations made by this thread while running `body`. Calls must not nest.
public func countAllocations(_ body: () -> Void) -> Int {
    alloc_counter_arm()
    body()
    return alloc_counter_disarm()
}

/// Whether the interposed malloc is really in use. It is only when the test executable exports
/// its symbols (`-Xlinker --export-dynamic`, in the test targets' linker settings); otherwise
/// the libraries keep calling glibc's malloc and nothing is counted. Under `CI=true` an
/// inactive counter is fatal, so the allocation tests can never pass by skipping.
public func allocationCounterWorks() -> Bool {
    let n = countAllocations {
        let p = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 8)
        p.deallocate()
    }
    if n == 0 {
        if getenv("CI").map({ String(cString: $0) }) == "true" {
            fatalError("allocation counting inactive in CI: the test binary no longer exports malloc")
        }
        print("SKIP: allocation counting inactive; link the tests with -Xlinker --export-dynamic")
    }
    return n > 0
}
