import Glibc

// Test support shared by every test target (they link into one binary, so malloc may be
// interposed only once).
//
// Counts heap allocations made by the current thread, to prove the QUIC fast path allocates
// nothing. The test executable interposes glibc's malloc family (executables win symbol
// resolution for every shared library, libcrypto and the Swift runtime included) and forwards
// to glibc's own entry points. Only the thread that armed the counter is counted, so tests
// running in parallel do not disturb it. Process-wide: if another test target needs the same,
// move this to one shared helper rather than defining malloc twice.

@_silgen_name("__libc_malloc") private func libcMalloc(_ size: Int) -> UnsafeMutableRawPointer?
@_silgen_name("__libc_calloc") private func libcCalloc(_ n: Int, _ size: Int) -> UnsafeMutableRawPointer?
@_silgen_name("__libc_realloc") private func libcRealloc(_ p: UnsafeMutableRawPointer?, _ size: Int) -> UnsafeMutableRawPointer?
@_silgen_name("__libc_memalign") private func libcMemalign(_ alignment: Int, _ size: Int) -> UnsafeMutableRawPointer?

private nonisolated(unsafe) var countingThread: pthread_t = 0
private nonisolated(unsafe) var allocations = 0

@inline(__always) private func note() {
    if countingThread != 0, pthread_equal(pthread_self(), countingThread) != 0 { allocations &+= 1 }
}

@_cdecl("malloc") public func mimamoriTestMalloc(_ size: Int) -> UnsafeMutableRawPointer? {
    note(); return libcMalloc(size)
}
@_cdecl("calloc") public func mimamoriTestCalloc(_ n: Int, _ size: Int) -> UnsafeMutableRawPointer? {
    note(); return libcCalloc(n, size)
}
@_cdecl("realloc") public func mimamoriTestRealloc(_ p: UnsafeMutableRawPointer?, _ size: Int) -> UnsafeMutableRawPointer? {
    note(); return libcRealloc(p, size)
}
@_cdecl("memalign") public func mimamoriTestMemalign(_ alignment: Int, _ size: Int) -> UnsafeMutableRawPointer? {
    note(); return libcMemalign(alignment, size)
}
@_cdecl("aligned_alloc") public func mimamoriTestAlignedAlloc(_ alignment: Int, _ size: Int) -> UnsafeMutableRawPointer? {
    note(); return libcMemalign(alignment, size)
}
@_cdecl("posix_memalign") public func mimamoriTestPosixMemalign(
    _ out: UnsafeMutablePointer<UnsafeMutableRawPointer?>, _ alignment: Int, _ size: Int) -> Int32 {
    note()
    guard let p = libcMemalign(alignment, size) else { return ENOMEM }
    out.pointee = p
    return 0
}

/// Heap allocations made by this thread while running `body`. One counter for the process:
/// callers must not count from two threads at once (the allocation suite is serialized).
public func countAllocations(_ body: () -> Void) -> Int {
    allocations = 0
    countingThread = pthread_self()
    body()
    countingThread = 0
    return allocations
}

/// Whether the interposed malloc is really in use. It is only when the test executable exports
/// its symbols (`swift test -Xlinker --export-dynamic`, or that flag in the test target's
/// linker settings); otherwise the libraries keep calling glibc's malloc and nothing is counted.
public func allocationCounterWorks() -> Bool {
    let n = countAllocations {
        let p = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 8)
        p.deallocate()
    }
    if n == 0 {
        // The package links tests with --export-dynamic; reaching here means that broke.
        if getenv("CI").map({ String(cString: $0) }) == "true" {
            fatalError("allocation counting inactive in CI: the test binary no longer exports malloc")
        }
        print("SKIP: allocation counting inactive; link the tests with -Xlinker --export-dynamic")
    }
    return n > 0
}
