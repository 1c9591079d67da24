import CPCRE2
import UTMCore

/// Compile options a rule can ask for. Mirrors the PCRE2 bits the Suricata `pcre` flags map to.
public struct RegexOptions: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let caseless = RegexOptions(rawValue: PCRE2_CASELESS)
    public static let dotAll = RegexOptions(rawValue: PCRE2_DOTALL)
    public static let multiline = RegexOptions(rawValue: PCRE2_MULTILINE)
    public static let extended = RegexOptions(rawValue: PCRE2_EXTENDED)
    public static let anchored = RegexOptions(rawValue: PCRE2_ANCHORED)
    public static let dollarEndOnly = RegexOptions(rawValue: PCRE2_DOLLAR_ENDONLY)
    public static let ungreedy = RegexOptions(rawValue: PCRE2_UNGREEDY)
}

/// Why a pattern did not compile: PCRE2's message and the offset in the pattern it points at.
public struct RegexError: Error, Sendable, CustomStringConvertible {
    public var code: Int32
    public var offset: Int
    public var message: String
    public var description: String { "\(message) at pattern offset \(offset)" }
}

/// Where a match was found, in bytes from the start of the subject view.
@frozen
public struct RegexMatch: Sendable, Equatable {
    public var start: Int
    public var end: Int
    /// The first capture group's range (`pcrexform`), -1 when the pattern has none or it did
    /// not take part in the match.
    public var groupStart: Int = -1
    public var groupEnd: Int = -1

    public init(start: Int, end: Int) { self.start = start; self.end = end }
}

/// A compiled PCRE2 pattern plus the match data it reuses for every match.
///
/// Why a class: it owns C resources that must be freed exactly once. It is created at rule load
/// (allocation is fine there) and only borrowed on the packet path. One thread at a time: the
/// match data and the lazy JIT state are the instance's own (each worker loads its own rules).
public final class Regex: @unchecked Sendable {
    /// nil until compiled: a `deferred` regex compiles on its first match.
    private var code: OpaquePointer?
    private var matchData: OpaquePointer?
    private var context: OpaquePointer?
    private let matchLimit: UInt32
    /// 0: not JIT-compiled yet, 1: JIT code ready, 2: the JIT is not available for it.
    ///
    /// Why lazy: ET Open has ~7,600 pcre options and most never run on a given network;
    /// compiling all of them for the JIT took much of the rule load time and executable
    /// memory. A pattern is JIT-compiled the first time it is matched (allocations once per
    /// pattern, then never again).
    private var jitState: UInt8 = 0
    /// Whether the JIT compiled the pattern (false until first used, and on platforms without
    /// JIT support).
    public var isJIT: Bool { jitState == 1 }
    /// The pattern text as given, for diagnostics.
    public let pattern: [UInt8]
    public let options: RegexOptions

    /// Matching limit applied to the interpreter (and the JIT): a backtracking storm stops as
    /// "no match" instead of eating the CPU. Suricata's default match-limit is 3500 for pcre;
    /// PCRE2's own default is ten million. We keep PCRE2's depth but cap the count lower.
    public static let defaultMatchLimit: UInt32 = 1_000_000

    public init(pattern: [UInt8], options: RegexOptions = [], matchLimit: UInt32 = Regex.defaultMatchLimit) throws(RegexError) {
        self.pattern = pattern
        self.options = options
        self.matchLimit = matchLimit
        code = try Self.compile(pattern, options).get()
        prepareMatching()
    }

    /// A pattern already known to compile (from a definitions bundle: `utmctl defs compile`
    /// checked it, and the bundle loader checks it again with `compileError`): it is compiled on
    /// its first match, so the compiled code of patterns that never run costs no memory. Should
    /// it fail to compile after all, it never matches.
    public init(deferred pattern: [UInt8], options: RegexOptions = [], matchLimit: UInt32 = Regex.defaultMatchLimit) {
        self.pattern = pattern
        self.options = options
        self.matchLimit = matchLimit
    }

    /// Why `pattern` does not compile, or nil when it does; the compiled code is freed at once.
    /// Why: a definitions bundle stores patterns as text (PCRE2's serialized form is tied to the
    /// library build) and matches them deferred; its loader checks each one with this, so a bundle
    /// whose checksum holds but whose pattern does not compile (crafted, or from a newer PCRE2)
    /// is refused with the rule named, instead of loading a rule that silently never matches.
    public static func compileError(pattern: [UInt8], options: RegexOptions = []) -> RegexError? {
        switch compile(pattern, options) {
        case .success(let code):
            pcre2_code_free_8(code)
            return nil
        case .failure(let error):
            return error
        }
    }

    /// The number of capture groups of a pattern, or nil when it does not compile (load time:
    /// `pcrexform` needs exactly one group to take).
    public static func captureCount(pattern: [UInt8], options: RegexOptions = []) -> Int? {
        guard case .success(let code) = compile(pattern, options) else { return nil }
        defer { pcre2_code_free_8(code) }
        var n: UInt32 = 0
        guard pcre2_pattern_info_8(code, UInt32(PCRE2_INFO_CAPTURECOUNT), &n) == 0 else { return nil }
        return Int(n)
    }

    /// The number of the capture group called `name` in `pattern`, or nil when the pattern does
    /// not compile or has no group of that name. Load time: modify.conf's `\g<name>` must name
    /// one of FROM's groups, or PCRE2 refuses every substitution (Python raises at once).
    public static func groupNumber(pattern: [UInt8], name: [UInt8], options: RegexOptions = []) -> Int? {
        guard !name.contains(0), case .success(let code) = compile(pattern, options) else { return nil }
        defer { pcre2_code_free_8(code) }
        let n = (name + [0]).withUnsafeBufferPointer { pcre2_substring_number_from_name_8(code, $0.baseAddress) }
        // A name used by several groups (duplicate names) is still a name PCRE2 substitutes.
        if n == PCRE2_ERROR_NOUNIQUESUBSTRING { return 0 }
        return n >= 0 ? Int(n) : nil
    }

    /// Replaces every match of `pattern` in `subject` with `replacement` (PCRE2's replacement
    /// syntax: `$1`, `${name}`, `$$`), or throws why it cannot (bad pattern, bad replacement,
    /// limit hit). Load time only (suricata-update's modify.conf rewrites rule text): it
    /// allocates. The output is bounded by `maxOutput` so a hostile replacement cannot make a
    /// huge rule.
    public static func substituteAll(pattern: [UInt8], options: RegexOptions = [], in subject: [UInt8],
                                     replacement: [UInt8], maxOutput: Int = 1 << 16) throws(RegexError) -> [UInt8] {
        let code = try compile(pattern, options).get()
        defer { pcre2_code_free_8(code) }
        let context = pcre2_match_context_create_8(nil)
        defer { if let context { pcre2_match_context_free_8(context) } }
        if let context {
            pcre2_set_match_limit_8(context, defaultMatchLimit)
            pcre2_set_heap_limit_8(context, 1024)
        }
        var output = [UInt8](repeating: 0, count: max(subject.count * 2, 256))
        for _ in 0 ..< 2 {
            var length = output.count
            // UNSET_EMPTY: a group that did not take part is empty, as in Python's re.sub (whose
            // semantics modify.conf has), instead of failing the whole substitution.
            let flags = UInt32(PCRE2_SUBSTITUTE_GLOBAL | PCRE2_SUBSTITUTE_OVERFLOW_LENGTH | PCRE2_SUBSTITUTE_UNSET_EMPTY)
            let rc = subject.withUnsafeBufferPointer { s in
                replacement.withUnsafeBufferPointer { r in
                    output.withUnsafeMutableBufferPointer { o in
                        pcre2_substitute_8(code, s.baseAddress ?? UnsafePointer(bitPattern: 1), s.count, 0, flags, nil, context,
                                           r.baseAddress ?? UnsafePointer(bitPattern: 1), r.count, o.baseAddress, &length)
                    }
                }
            }
            if rc >= 0 {
                // The first buffer (twice the subject) may exceed the bound: check the result.
                guard length <= maxOutput else {
                    throw RegexError(code: PCRE2_ERROR_NOMEMORY, offset: 0, message: "the result would be longer than \(maxOutput) bytes")
                }
                return Array(output[0 ..< min(length, output.count)])
            }
            if rc == PCRE2_ERROR_NOMEMORY && length > output.count && length <= maxOutput {
                output = [UInt8](repeating: 0, count: length)
                continue
            }
            if rc == PCRE2_ERROR_NOMEMORY {
                throw RegexError(code: rc, offset: 0, message: "the result would be longer than \(maxOutput) bytes")
            }
            var buffer = [UInt8](repeating: 0, count: 256)
            let n = buffer.withUnsafeMutableBufferPointer { pcre2_get_error_message_8(rc, $0.baseAddress, $0.count) }
            let message = n > 0 ? String(decoding: buffer[0 ..< Int(n)], as: UTF8.self) : "pcre2 error \(rc)"
            throw RegexError(code: rc, offset: 0, message: message)
        }
        throw RegexError(code: -1, offset: 0, message: "substitution did not settle")
    }

    /// PCRE2's compile, with its message on failure.
    private static func compile(_ pattern: [UInt8], _ options: RegexOptions) -> Result<OpaquePointer, RegexError> {
        var errorCode: Int32 = 0
        var errorOffset: Int = 0
        let compiled: OpaquePointer? = pattern.withUnsafeBufferPointer { p in
            pcre2_compile_8(p.baseAddress ?? UnsafePointer(bitPattern: 1), p.count, options.rawValue,
                            &errorCode, &errorOffset, nil)
        }
        if let compiled { return .success(compiled) }
        var buffer = [UInt8](repeating: 0, count: 256)
        let n = buffer.withUnsafeMutableBufferPointer { pcre2_get_error_message_8(errorCode, $0.baseAddress, $0.count) }
        let message = n > 0 ? String(decoding: buffer[0 ..< Int(n)], as: UTF8.self) : "pcre2 error \(errorCode)"
        return .failure(RegexError(code: errorCode, offset: errorOffset, message: message))
    }

    private var compileFailed = false

    private func prepareMatching() {
        // Three pairs are enough: we only read the whole-match offsets.
        matchData = pcre2_match_data_create_8(3, nil)
        context = pcre2_match_context_create_8(nil)
        if let context {
            pcre2_set_match_limit_8(context, matchLimit)
            // The interpreter keeps backtracking frames on the heap above 20 KiB; cap it so a
            // hostile subject cannot grow it (in KiB).
            pcre2_set_heap_limit_8(context, 1024)
        }
    }

    /// Compiles a deferred pattern (once); false when it cannot be matched.
    private func ensureCompiled() -> Bool {
        if code != nil { return matchData != nil }
        if compileFailed { return false }
        guard case .success(let compiled) = Self.compile(pattern, options) else { compileFailed = true; return false }
        code = compiled
        prepareMatching()
        return matchData != nil
    }

    deinit {
        if let context { pcre2_match_context_free_8(context) }
        if let matchData { pcre2_match_data_free_8(matchData) }
        if let code { pcre2_code_free_8(code) }
    }

    /// The first match in `subject` that starts at or after `from`, or nil (also nil when a
    /// limit was hit: a match the engine could not prove is not a match).
    ///
    /// Does not allocate. `^` anchors at the start of `subject`, not at `from`; callers that
    /// want relative anchoring pass a suffix view.
    @inlinable
    public func firstMatch(in subject: ByteView, from: Int = 0) -> RegexMatch? {
        guard from >= 0, from <= subject.count else { return nil }
        return subject.withUnsafeBytes { raw in matchRaw(raw, from: from) }
    }

    /// Whether the pattern matches anywhere in `subject`.
    @inlinable
    public func matches(_ subject: ByteView) -> Bool { firstMatch(in: subject) != nil }

    @usableFromInline
    internal func matchRaw(_ raw: UnsafeRawBufferPointer, from: Int) -> RegexMatch? {
        // A zero-length subject still needs a valid pointer for PCRE2.
        var empty: UInt8 = 0
        return withUnsafePointer(to: &empty) { emptyPointer -> RegexMatch? in
            let base = raw.baseAddress.map { $0.assumingMemoryBound(to: UInt8.self) } ?? emptyPointer
            guard ensureCompiled(), let code, let matchData else { return nil }
            let rc: Int32
            if jitState == 0 { jitState = pcre2_jit_compile_8(code, PCRE2_JIT_COMPLETE) == 0 ? 1 : 2 }
            if jitState == 1 {
                rc = pcre2_jit_match_8(code, base, raw.count, from, 0, matchData, context)
            } else {
                rc = pcre2_match_8(code, base, raw.count, from, 0, matchData, context)
            }
            guard rc >= 0 else { return nil }
            let ovector = pcre2_get_ovector_pointer_8(matchData)!
            let s = ovector[0], e = ovector[1]
            guard s <= raw.count, e <= raw.count, s <= e else { return nil }
            var m = RegexMatch(start: s, end: e)
            // The match data holds three pairs: pair 1 is the first group (PCRE2_UNSET, ~0,
            // when it did not participate; rc counts the pairs set).
            if rc >= 2 {
                let gs = ovector[2], ge = ovector[3]
                if gs <= ge && ge <= raw.count { m.groupStart = gs; m.groupEnd = ge }
            }
            return m
        }
    }
}
