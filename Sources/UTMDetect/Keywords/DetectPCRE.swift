import UTMRegex

/// `pcre:"[!]/pattern/flags"`. Compile flags (i s m x A E G) map to PCRE2 options; `R` makes
/// the match relative to the previous one; buffer flags select the buffer like a sticky buffer
/// (U uri, I raw uri, P request body, Q file data, H header, D raw header, M method,
/// C/K cookie, S stat code, Y stat msg, V user agent, W host, Z raw host); `B` (rawbytes) and
/// `O` (override the match limit) are accepted and change nothing here.
enum DetectPCRE {
    @Sendable static func pcre(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        var t = try KW.require(v, "pcre").trimmingSpaces
        var negated = false
        if t.first == "!" { negated = true; t = t.dropFirst().trimmingSpaces }
        let body = try KW.unquote(t)
        guard body.first == "/", let lastSlash = body.lastIndex(of: "/"), lastSlash > body.startIndex else {
            throw .invalid("pcre: expected \"/pattern/flags\", got '\(body.prefix(60))'")
        }
        let source = body[body.index(after: body.startIndex) ..< lastSlash]
        let flags = body[body.index(after: lastSlash)...]
        var options: RegexOptions = []
        var relative = false
        var buffer: BufferID?
        for f in flags {
            var flagBuffer: BufferID?
            switch f {
            case "i": options.insert(.caseless)
            case "s": options.insert(.dotAll)
            case "m": options.insert(.multiline)
            case "x": options.insert(.extended)
            case "A": options.insert(.anchored)
            case "E": options.insert(.dollarEndOnly)
            case "G": options.insert(.ungreedy)
            case "R": relative = true
            case "B", "O": break
            case "U": flagBuffer = .httpURI
            case "I": flagBuffer = .httpRawURI
            case "P": flagBuffer = .httpClientBody
            case "Q": flagBuffer = .fileData
            case "H": flagBuffer = .httpHeader
            case "D": flagBuffer = .httpRawHeader
            case "M": flagBuffer = .httpMethod
            case "C", "K": flagBuffer = .httpCookie
            case "S": flagBuffer = .httpStatCode
            case "Y": flagBuffer = .httpStatMsg
            case "V": flagBuffer = .httpUserAgent
            case "W": flagBuffer = .httpHost
            case "Z": flagBuffer = .httpRawHost
            case " ", "\t": break
            default: throw .invalid("pcre: unknown flag '\(f)'")
            }
            if let fb = flagBuffer {
                if let existing = buffer, existing != fb {
                    throw .invalid("pcre: flags select two buffers (\(existing.name) and \(fb.name))")
                }
                buffer = fb
            }
        }
        if let fb = buffer, let sticky = b.sticky, sticky != fb {
            throw .invalid("pcre: flag selects \(fb.name) but the sticky buffer is \(sticky.name)")
        }
        // Replace the rule-text escape `\;` by `;` (PCRE would accept it, but keep the text true).
        let regex: Regex
        do {
            regex = try Regex(pattern: Array(source.utf8), options: options)
        } catch {
            throw .invalid("pcre: cannot compile /\(source)/: \(error)")
        }
        let target: BufferID
        if let fb = buffer { target = fb } else if relative { target = b.bufferForRelative() } else { target = b.currentBuffer }
        b.append(.pcre(PCREMatch(regex: regex, negated: negated, relative: relative, source: String(source))), to: target)
    }
}
