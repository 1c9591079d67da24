import CZlib
import UTMCore

/// Which framing a compressed body uses. HTTP's `Content-Encoding: deflate` is sent both as a
/// zlib stream (what RFC 9110 means) and as raw deflate (what many servers send), and some
/// servers label gzip as deflate; browsers accept all three, so `.auto` decides from the first
/// two bytes the way they do.
public enum InflateFormat: UInt8, Sendable {
    case auto = 0
    case gzip = 1
    case zlib = 2
    case raw = 3

    /// zlib's `windowBits` for this format (32 KiB window; +16 = gzip; negative = raw).
    var windowBits: Int32 {
        switch self {
        case .auto, .zlib: return 15
        case .gzip: return 31
        case .raw: return -15
        }
    }
}

/// Where a decompression stream stands. Hostile bodies end in `.failed` or `.limited`; nothing
/// is thrown, because a bad body is an event on the flow, not an operational failure.
public enum InflateState: UInt8, Sendable {
    /// More input is welcome.
    case running = 0
    /// The compressed stream ended (bytes after its end are counted and ignored).
    case finished = 1
    /// The input is not valid for the format, or it ended before the stream did.
    case failed = 2
    /// Output reached `maxOutput`, or the expansion ratio looked like a bomb: output stopped.
    case limited = 3
}

/// Bounds on one decompression stream, so a small body cannot make the box do unbounded work.
public struct InflateLimits: Sendable {
    /// Most decoded bytes delivered for one stream. This bound is exact: any split of the same
    /// input delivers the same bytes.
    public var maxOutput: Int64
    /// Once `ratioGrace` bytes came out, stop when output exceeds `maxRatio` times the input
    /// consumed. Deflate tops out near 1032:1, so a very high ratio means a bomb, not a page.
    /// Where exactly this cuts depends on how the input was split; `maxOutput` does not.
    public var maxRatio: Int64
    public var ratioGrace: Int64

    /// Defaults: 1 MiB out; ratio 100 once 1 MiB came out. With these defaults only
    /// `maxOutput` ever cuts; the ratio guards configurations with a larger `maxOutput`.
    public init(maxOutput: Int64 = 1 << 20, maxRatio: Int64 = 100, ratioGrace: Int64 = 1 << 20) {
        self.maxOutput = maxOutput
        self.maxRatio = maxRatio
        self.ratioGrace = ratioGrace
    }
}

/// A reusable zlib inflate stream writing into a fixed output slab (the loop, the limits and the
/// counters are `StreamingDecoder`'s, shared with `Bunzip2Decoder`).
///
/// Why a class: zlib's `z_stream` keeps a pointer back to itself, so it must sit at a stable
/// address; and it is meant to be created once per parser slot and reused with
/// `inflateReset2`, never per packet. zlib allocates its state (about 7 KiB) on first use and
/// its 32 KiB window on first output; both are kept until `deinit`, so a pool of parsers that
/// never sees compressed bodies never pays for them.
///
/// This is one of the places where unsafe pointer code is allowed: it wraps C. Output is lent
/// to a non-escaping closure as a `ByteView` of the slab, valid only during that call.
public final class Inflater: StreamingDecoder {
    private let stream: UnsafeMutablePointer<z_stream>
    private var initialised = false
    /// The first byte of an `.auto` stream, held until the second one decides the format, so
    /// that every split of a body decides the same way.
    private var pendingByte: UInt8 = 0
    private var hasPendingByte = false

    /// The format in use (`.auto` until the first two bytes were seen).
    public private(set) var format: InflateFormat = .auto

    /// `bufferCapacity` is the size of the output slab: decoded data is delivered in pieces of
    /// at most this many bytes.
    public init(bufferCapacity: Int = 8192, limits: InflateLimits = .init()) {
        stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        super.init(outputCapacity: bufferCapacity, limits: limits)
    }

    deinit {
        if initialised { inflateEnd(stream) }
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    /// Starts a new stream, keeping zlib's memory.
    public func reset(format: InflateFormat = .auto, limits: InflateLimits? = nil) {
        restart(limits: limits)
        self.format = format
        hasPendingByte = false
        if format != .auto && !configure(format) { state = .failed }
    }

    /// Points zlib at `format`: initialises it the first time, resets it afterwards.
    private func configure(_ format: InflateFormat) -> Bool {
        self.format = format
        if !initialised {
            let rc = inflateInit2_(stream, format.windowBits, zlibVersion(),
                                   Int32(MemoryLayout<z_stream>.size))
            guard rc == Z_OK else { return false }
            initialised = true
            return true
        }
        return inflateReset2(stream, format.windowBits) == Z_OK
    }

    /// The format of a stream starting with bytes `b0 b1`, guessed the way browsers do.
    public static func detect(_ b0: UInt8, _ b1: UInt8) -> InflateFormat {
        if b0 == 0x1f && b1 == 0x8b { return .gzip }
        // zlib header (RFC 1950): method 8, window ≤ 32 KiB, header check divisible by 31.
        if b0 & 0x0f == 8, b0 >> 4 <= 7, (UInt16(b0) << 8 | UInt16(b1)) % 31 == 0 { return .zlib }
        return .raw
    }

    /// Decompresses `input`, calling `onOutput` with each piece of decoded data, and returns
    /// the state afterwards. Input after `.finished`, `.failed` or `.limited` is counted only.
    @discardableResult
    public func feed(_ input: ByteView, _ onOutput: (ByteView) -> Void) -> InflateState {
        totalIn &+= Int64(input.count)
        guard state == .running else {
            if state == .finished { trailingBytes &+= Int64(input.count) }
            return state
        }
        var data = input
        if format == .auto {
            if !hasPendingByte {
                guard let b0 = data.u8(0) else { return state }
                pendingByte = b0
                hasPendingByte = true
                data = data.dropFirst(1)
            }
            guard let b1 = data.u8(0) else { return state }
            guard configure(Inflater.detect(pendingByte, b1)) else { state = .failed; return state }
            hasPendingByte = false
            var first = pendingByte
            let st = withUnsafeBytes(of: &first) { decode(ByteView($0), onOutput) }
            if st != .running {
                if st == .finished { trailingBytes &+= Int64(data.count) }
                return st
            }
        }
        return decode(data, onOutput)
    }

    /// The compressed body ended. A stream still running was cut short (a truncated download,
    /// or a lone first byte): it becomes `.failed`. Other states stay.
    @discardableResult
    public func finish() -> InflateState {
        if state == .running && totalIn > 0 { state = .failed }
        return state
    }

    // MARK: zlib's calls for the shared loop

    override func setInput(_ input: UnsafeRawBufferPointer) {
        stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = uInt(input.count)
    }

    override func step(into output: UnsafeMutableRawBufferPointer) -> (DecodeStep, produced: Int) {
        stream.pointee.next_out = output.baseAddress?.assumingMemoryBound(to: Bytef.self)
        stream.pointee.avail_out = uInt(output.count)
        let rc = inflate(stream, Z_NO_FLUSH)
        let produced = output.count &- Int(stream.pointee.avail_out)
        switch rc {
        case Z_OK: return (.progress, produced)
        case Z_STREAM_END: return (.streamEnd, produced)
        case Z_BUF_ERROR: return (.needsInput, produced)  // no progress possible: needs more input
        default: return (.failed, produced)
        }
    }

    override var inputLeft: Int { Int(stream.pointee.avail_in) }

    override var inputConsumed: Int64 { Int64(stream.pointee.total_in) }

    override func clearPointers() {
        stream.pointee.next_in = nil
        stream.pointee.avail_in = 0
        stream.pointee.next_out = nil
        stream.pointee.avail_out = 0
    }
}

/// One-shot compression, for tests, fixtures and tools only (it allocates): the fast path only
/// ever inflates.
public enum Deflate {
    /// `input` compressed in `format` (`.auto` means zlib). Empty on a zlib error.
    public static func compress(_ input: [UInt8], format: InflateFormat = .gzip, level: Int32 = 6) -> [UInt8] {
        var s = z_stream()
        let bits: Int32 = format == .gzip ? 31 : (format == .raw ? -15 : 15)
        guard deflateInit2_(&s, level, Z_DEFLATED, bits, 8, Z_DEFAULT_STRATEGY, zlibVersion(),
                            Int32(MemoryLayout<z_stream>.size)) == Z_OK else { return [] }
        defer { deflateEnd(&s) }
        var result = [UInt8](repeating: 0, count: Int(deflateBound(&s, uLong(input.count))) &+ 64)
        var ok = false
        input.withUnsafeBufferPointer { inp in
            result.withUnsafeMutableBufferPointer { outp in
                s.next_in = UnsafeMutablePointer(mutating: inp.baseAddress)
                s.avail_in = uInt(inp.count)
                s.next_out = outp.baseAddress
                s.avail_out = uInt(outp.count)
                ok = deflate(&s, Z_FINISH) == Z_STREAM_END
            }
        }
        guard ok else { return [] }
        result.removeLast(result.count &- Int(s.total_out))
        return result
    }
}
