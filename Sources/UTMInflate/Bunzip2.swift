import CBzip2
import UTMCore

/// Streaming bzip2 decoding (a `.bz2` file, or a zip member with method 12) for the antivirus,
/// with the same surface and limits as `Inflater`: decoded bytes go to a non-escaping closure as
/// views of a fixed slab; `InflateLimits` bounds output and ratio, bad data ends in `.failed`.
///
/// Memory, and why it is bounded differently from zlib: libbz2 has no reset call, and its
/// decoder needs 2.5 bytes per byte of block size in "small" mode (up to 2.2 MiB for `-9`
/// blocks; 3.6 MiB in normal mode, which is only ~2x faster). So the C state exists only while a
/// bzip2 stream is being decoded — created by `reset`, freed as soon as the stream ends, fails,
/// hits a limit, or the next `reset` — and in small mode. A pool of scan sessions that never
/// meets bzip2 never pays for it; one that does pays ≈ 2.3 MiB per stream in progress.
/// Decoding a bzip2 member allocates (libbz2's own state); scanning anything else does not.
public final class Bunzip2Decoder: StreamingDecoder {
    private let stream: UnsafeMutablePointer<bz_stream>
    private var live = false

    public init(bufferCapacity: Int = 8192, limits: InflateLimits = .init()) {
        stream = UnsafeMutablePointer<bz_stream>.allocate(capacity: 1)
        stream.initialize(to: bz_stream())
        super.init(outputCapacity: bufferCapacity, limits: limits)
    }

    deinit {
        release()
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    /// Starts a new stream (the previous one's C state is freed).
    public func reset(limits: InflateLimits? = nil) {
        release()
        restart(limits: limits)
        stream.pointee = bz_stream()
        // small = 1: 2.5 bytes per block byte instead of 4.
        if BZ2_bzDecompressInit(stream, 0, 1) == BZ_OK { live = true } else { state = .failed }
    }

    private func release() {
        if live { BZ2_bzDecompressEnd(stream); live = false }
    }

    /// Decompresses `input`, calling `onOutput` with each piece; see `Inflater.feed`.
    @discardableResult
    public func feed(_ input: ByteView, _ onOutput: (ByteView) -> Void) -> InflateState {
        totalIn &+= Int64(input.count)
        guard state == .running, live else {
            if state == .finished { trailingBytes &+= Int64(input.count) }
            return state
        }
        decode(input, onOutput)
        if state != .running { release() }
        return state
    }

    /// The compressed data ended; a stream still running was cut short.
    @discardableResult
    public func finish() -> InflateState {
        if state == .running { state = .failed }
        release()
        return state
    }

    // MARK: libbz2's calls for the shared loop

    override func setInput(_ input: UnsafeRawBufferPointer) {
        stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: CChar.self))
        stream.pointee.avail_in = UInt32(input.count)
    }

    override func step(into output: UnsafeMutableRawBufferPointer) -> (DecodeStep, produced: Int) {
        stream.pointee.next_out = output.baseAddress?.assumingMemoryBound(to: CChar.self)
        stream.pointee.avail_out = UInt32(output.count)
        let rc = BZ2_bzDecompress(stream)
        let produced = output.count &- Int(stream.pointee.avail_out)
        switch rc {
        case BZ_OK: return (.progress, produced)
        case BZ_STREAM_END: return (.streamEnd, produced)
        default: return (.failed, produced)
        }
    }

    override var inputLeft: Int { Int(stream.pointee.avail_in) }

    override var inputConsumed: Int64 { Int64(stream.pointee.total_in_hi32) << 32 | Int64(stream.pointee.total_in_lo32) }

    override func clearPointers() {
        guard live else { return }
        stream.pointee.next_in = nil
        stream.pointee.avail_in = 0
        stream.pointee.next_out = nil
        stream.pointee.avail_out = 0
    }
}

/// One-shot bzip2 compression, for tests and tools only (it allocates).
public enum Bzip2 {
    public static func compress(_ input: [UInt8], blockSize100k: Int32 = 9) -> [UInt8] {
        var outLen = UInt32(input.count + input.count / 100 + 600)
        var out = [UInt8](repeating: 0, count: Int(outLen))
        var src = input
        let rc = out.withUnsafeMutableBytes { o in
            src.withUnsafeMutableBytes { i in
                BZ2_bzBuffToBuffCompress(o.baseAddress?.assumingMemoryBound(to: CChar.self), &outLen,
                                         i.baseAddress?.assumingMemoryBound(to: CChar.self), UInt32(i.count),
                                         blockSize100k, 0, 0)
            }
        }
        return rc == BZ_OK ? Array(out.prefix(Int(outLen))) : []
    }
}
