import UTMCore

/// What one call into a C decoder reported, as the shared loop reads it.
enum DecodeStep {
    /// Progress was made: call again while there is room and input.
    case progress
    /// The compressed stream ended.
    case streamEnd
    /// Nothing can move until more input comes (zlib's `Z_BUF_ERROR`).
    case needsInput
    /// The data is not valid for the format, or the library failed.
    case failed
}

/// The streaming loop `Inflater` (zlib) and `Bunzip2Decoder` (libbz2) share: input handed to
/// the C library in pieces of at most 1 GiB (both count in 32-bit units), output decoded into
/// one fixed slab and lent to a non-escaping closure as a `ByteView`, `InflateLimits` (exact
/// output cap, expansion ratio) checked after every call, bytes after the stream's end counted.
/// A subclass supplies the C calls (`setInput`, `step`, `inputLeft`, `inputConsumed`,
/// `clearPointers`) and the stream's life (reset, auto-detection, freeing).
///
/// Why a base class: the two loops were the same but for those calls. Its methods are plain
/// calls (no generics to specialize), so debug builds do not allocate in it either, and the
/// counters are properties of the object, not a struct borrowed for the whole loop, so an
/// `onOutput` that reads them is fine.
public class StreamingDecoder {
    let out: ByteSlab

    public internal(set) var limits: InflateLimits
    public internal(set) var state: InflateState = .running
    /// Compressed bytes handed to `feed` (including ones after the end of the stream).
    public internal(set) var totalIn: Int64 = 0
    /// Decoded bytes delivered.
    public internal(set) var totalOut: Int64 = 0
    /// Bytes received after the end of the compressed stream.
    public internal(set) var trailingBytes: Int64 = 0

    /// `bufferCapacity` is the size of the output slab: decoded data is delivered in pieces of
    /// at most this many bytes.
    init(outputCapacity bufferCapacity: Int, limits: InflateLimits) {
        out = ByteSlab(capacity: Swift.max(64, bufferCapacity))
        self.limits = limits
    }

    /// A new stream: counters cleared, `limits` replaced when given.
    func restart(limits: InflateLimits?) {
        if let limits { self.limits = limits }
        state = .running
        totalIn = 0
        totalOut = 0
        trailingBytes = 0
    }

    // MARK: The C calls (overridden; the defaults decode nothing)

    /// Points the C stream at `input` (at most 1 GiB).
    func setInput(_ input: UnsafeRawBufferPointer) {}
    /// One decode call writing into `output`: what it reported and the bytes it wrote.
    func step(into output: UnsafeMutableRawBufferPointer) -> (DecodeStep, produced: Int) { (.failed, 0) }
    /// Input bytes the C stream has not consumed yet.
    var inputLeft: Int { 0 }
    /// Input bytes consumed since the stream began (for the expansion ratio).
    var inputConsumed: Int64 { 0 }
    /// Forgets the pointers into the caller's input and the slab.
    func clearPointers() {}

    // MARK: The loop

    /// Decodes `input` while the stream runs; returns the state afterwards.
    @discardableResult
    func decode(_ input: ByteView, _ onOutput: (ByteView) -> Void) -> InflateState {
        var rest = input
        while !rest.isEmpty && state == .running {
            let piece = rest.prefix(1 << 30)
            decodePiece(piece, onOutput)
            rest = rest.dropFirst(piece.count)
            if state == .finished { trailingBytes &+= Int64(rest.count) }
        }
        return state
    }

    private func decodePiece(_ input: ByteView, _ onOutput: (ByteView) -> Void) {
        input.withUnsafeBytes { raw in
            guard raw.baseAddress != nil else { return }
            setInput(raw)
            while state == .running {
                let left = limits.maxOutput &- totalOut
                if left <= 0 { state = .limited; break }
                let cap = Int(Swift.min(Int64(out.capacity), left))
                var result = DecodeStep.failed
                var produced = 0
                _ = out.withUnsafeMutableBytes(0, cap) { buf in (result, produced) = step(into: buf) }
                if produced > 0, let v = out.view(0, produced) {
                    totalOut &+= Int64(produced)
                    onOutput(v)
                }
                if result == .streamEnd {
                    state = .finished
                    trailingBytes &+= Int64(inputLeft)
                    break
                }
                if result == .needsInput { break }
                if result == .failed { state = .failed; break }
                if totalOut >= limits.maxOutput { state = .limited; break }
                if totalOut > limits.ratioGrace, totalOut / Swift.max(1, inputConsumed) > limits.maxRatio {
                    state = .limited
                    break
                }
                // Input used up and the slab not filled: the library has nothing more to give now.
                if inputLeft == 0 && produced < cap { break }
            }
            clearPointers()
        }
    }
}
