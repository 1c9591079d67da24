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
public final class Bunzip2Decoder {
    private let stream: UnsafeMutablePointer<bz_stream>
    private var live = false
    private let out: ByteSlab

    public private(set) var limits: InflateLimits
    public private(set) var state: InflateState = .running
    public private(set) var totalIn: Int64 = 0
    public private(set) var totalOut: Int64 = 0
    public private(set) var trailingBytes: Int64 = 0

    public init(bufferCapacity: Int = 8192, limits: InflateLimits = .init()) {
        stream = UnsafeMutablePointer<bz_stream>.allocate(capacity: 1)
        stream.initialize(to: bz_stream())
        out = ByteSlab(capacity: Swift.max(64, bufferCapacity))
        self.limits = limits
    }

    deinit {
        release()
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    /// Starts a new stream (the previous one's C state is freed).
    public func reset(limits: InflateLimits? = nil) {
        release()
        if let limits { self.limits = limits }
        state = .running
        totalIn = 0
        totalOut = 0
        trailingBytes = 0
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
        var rest = input
        while !rest.isEmpty && state == .running {
            let piece = rest.prefix(1 << 30)  // bz_stream counts in 32-bit units
            runPiece(piece, onOutput)
            rest = rest.dropFirst(piece.count)
            if state == .finished { trailingBytes &+= Int64(rest.count) }
        }
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

    private func runPiece(_ input: ByteView, _ onOutput: (ByteView) -> Void) {
        input.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return }
            stream.pointee.next_in = UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: CChar.self))
            stream.pointee.avail_in = UInt32(raw.count)
            while state == .running {
                let left = limits.maxOutput &- totalOut
                if left <= 0 { state = .limited; break }
                let cap = Int(Swift.min(Int64(out.capacity), left))
                var produced = 0
                var rc: Int32 = BZ_OK
                _ = out.withUnsafeMutableBytes(0, cap) { buf in
                    stream.pointee.next_out = buf.baseAddress?.assumingMemoryBound(to: CChar.self)
                    stream.pointee.avail_out = UInt32(buf.count)
                    rc = BZ2_bzDecompress(stream)
                    produced = buf.count &- Int(stream.pointee.avail_out)
                }
                if produced > 0, let v = out.view(0, produced) {
                    totalOut &+= Int64(produced)
                    onOutput(v)
                }
                if rc == BZ_STREAM_END {
                    state = .finished
                    trailingBytes &+= Int64(stream.pointee.avail_in)
                    break
                }
                if rc != BZ_OK { state = .failed; break }
                if totalOut >= limits.maxOutput { state = .limited; break }
                let consumed = Int64(stream.pointee.total_in_hi32) << 32 | Int64(stream.pointee.total_in_lo32)
                if totalOut > limits.ratioGrace, totalOut / Swift.max(1, consumed) > limits.maxRatio {
                    state = .limited
                    break
                }
                if stream.pointee.avail_in == 0 && produced < cap { break }
            }
            if live {
                stream.pointee.next_in = nil
                stream.pointee.avail_in = 0
                stream.pointee.next_out = nil
                stream.pointee.avail_out = 0
            }
        }
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
