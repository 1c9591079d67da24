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

/// A reusable zlib inflate stream writing into a fixed output slab.
///
/// Why a class: zlib's `z_stream` keeps a pointer back to itself, so it must sit at a stable
/// address; and it is meant to be created once per parser slot and reused with
/// `inflateReset2`, never per packet. zlib allocates its state (about 7 KiB) on first use and
/// its 32 KiB window on first output; both are kept until `deinit`, so a pool of parsers that
/// never sees compressed bodies never pays for them.
///
/// This is one of the places where unsafe pointer code is allowed: it wraps C. Output is lent
/// to a non-escaping closure as a `ByteView` of the slab, valid only during that call.
public final class Inflater {
    private let stream: UnsafeMutablePointer<z_stream>
    private var initialised = false
    private let out: ByteSlab
    /// The first byte of an `.auto` stream, held until the second one decides the format, so
    /// that every split of a body decides the same way.
    private var pendingByte: UInt8 = 0
    private var hasPendingByte = false

    public private(set) var limits: InflateLimits
    public private(set) var state: InflateState = .running
    /// The format in use (`.auto` until the first two bytes were seen).
    public private(set) var format: InflateFormat = .auto
    /// Compressed bytes handed to `feed` (including ones after the end of the stream).
    public private(set) var totalIn: Int64 = 0
    /// Decoded bytes delivered.
    public private(set) var totalOut: Int64 = 0
    /// Bytes received after the end of the compressed stream.
    public private(set) var trailingBytes: Int64 = 0

    /// `bufferCapacity` is the size of the output slab: decoded data is delivered in pieces of
    /// at most this many bytes.
    public init(bufferCapacity: Int = 8192, limits: InflateLimits = .init()) {
        stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        out = ByteSlab(capacity: Swift.max(64, bufferCapacity))
        self.limits = limits
    }

    deinit {
        if initialised { inflateEnd(stream) }
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    /// Starts a new stream, keeping zlib's memory.
    public func reset(format: InflateFormat = .auto, limits: InflateLimits? = nil) {
        if let limits { self.limits = limits }
        self.format = format
        state = .running
        totalIn = 0
        totalOut = 0
        trailingBytes = 0
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
            let st = withUnsafeBytes(of: &first) { run(ByteView($0), onOutput) }
            if st != .running {
                if st == .finished { trailingBytes &+= Int64(data.count) }
                return st
            }
        }
        return run(data, onOutput)
    }

    /// The compressed body ended. A stream still running was cut short (a truncated download,
    /// or a lone first byte): it becomes `.failed`. Other states stay.
    @discardableResult
    public func finish() -> InflateState {
        if state == .running && totalIn > 0 { state = .failed }
        return state
    }

    private func run(_ input: ByteView, _ onOutput: (ByteView) -> Void) -> InflateState {
        // zlib counts input in 32-bit units: hand it over in pieces of at most 1 GiB.
        var rest = input
        while !rest.isEmpty && state == .running {
            let piece = rest.prefix(1 << 30)
            runPiece(piece, onOutput)
            rest = rest.dropFirst(piece.count)
            if state == .finished { trailingBytes &+= Int64(rest.count) }
        }
        return state
    }

    private func runPiece(_ input: ByteView, _ onOutput: (ByteView) -> Void) {
        input.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return }
            stream.pointee.next_in = UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: Bytef.self))
            stream.pointee.avail_in = uInt(raw.count)
            while state == .running {
                let left = limits.maxOutput &- totalOut
                if left <= 0 { state = .limited; break }
                let cap = Int(Swift.min(Int64(out.capacity), left))
                var produced = 0
                var rc: Int32 = Z_OK
                _ = out.withUnsafeMutableBytes(0, cap) { buf in
                    stream.pointee.next_out = buf.baseAddress?.assumingMemoryBound(to: Bytef.self)
                    stream.pointee.avail_out = uInt(buf.count)
                    rc = inflate(stream, Z_NO_FLUSH)
                    produced = buf.count &- Int(stream.pointee.avail_out)
                }
                if produced > 0, let v = out.view(0, produced) {
                    totalOut &+= Int64(produced)
                    onOutput(v)
                }
                if rc == Z_STREAM_END {
                    state = .finished
                    trailingBytes &+= Int64(stream.pointee.avail_in)
                    break
                }
                if rc == Z_BUF_ERROR { break }  // no progress possible: needs more input
                if rc != Z_OK { state = .failed; break }
                if totalOut >= limits.maxOutput { state = .limited; break }
                if totalOut > limits.ratioGrace,
                   totalOut / Swift.max(1, Int64(stream.pointee.total_in)) > limits.maxRatio {
                    state = .limited
                    break
                }
                // Input used up and the slab not filled: zlib has nothing more to give now.
                if stream.pointee.avail_in == 0 && produced < cap { break }
            }
            stream.pointee.next_in = nil
            stream.pointee.avail_in = 0
            stream.pointee.next_out = nil
            stream.pointee.avail_out = 0
        }
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
