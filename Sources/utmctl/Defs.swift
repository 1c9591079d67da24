import ArgumentParser
import Foundation
import UTMCore
import UTMSystem
import UTMWebFilter

/// `utmctl defs`: definition files. Today the URL category database: compile UT1-format lists,
/// look hosts and URLs up, measure lookup speed.
struct Defs: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compile and inspect definition files (URL categories).",
        subcommands: [Compile.self, Lookup.self, Bench.self, Keygen.self, Sign.self, Verify.self, Install.self, Status.self,
                      Rollback.self]
    )

    struct Compile: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compile UT1-format category lists into a category database file.",
            discussion: """
                DIR holds one subfolder per list with `domains` and/or `urls` files (UT1's \
                blacklists folder, or its parent). Malformed lines are counted and skipped.
                """
        )

        @Option(name: .long, help: "The category folder.")
        var categories: String?

        @Option(name: .long, help: "Suricata rule files: write an IPS definitions bundle instead (RulesLoad.swift).")
        var rules: [String] = []

        @OptionGroup var filterOptions: RuleFilterOptions

        @Option(name: .shortAndLong, help: "The database file to write.")
        var output: String

        @Flag(name: .long, help: "Print per-list counts.")
        var verbose = false

        func run() throws {
            if !rules.isEmpty { return try compileIPSBundle(rules: rules, output: output, filters: try filterOptions.load()) }
            if !filterOptions.isEmpty { throw fail("defs compile: --disable/enable/modify/drop-conf go with --rules") }
            guard let categories else { throw fail("defs compile: give --categories DIR or --rules FILE...") }
            let start = MonotonicClock.nanoseconds()
            let result: (bytes: [UInt8], stats: CategoryCompiler.Stats, compiler: CategoryCompiler)
            do {
                result = try CategoryCompiler.compile(directory: categories)
                let out = try OutputFile(path: output)
                try out.write(result.bytes)
                out.close()
            } catch {
                throw fail("\(error)")
            }
            let seconds = MonotonicClock.seconds(since: start)
            let s = result.stats
            let lines = s.lists.reduce(0) { $0 + $1.domainLines }, urlLines = s.lists.reduce(0) { $0 + $1.urlLines }
            if verbose {
                for l in s.lists {
                    print("  \(l.name): \(l.domainLines) domains, \(l.urlLines) urls, \(l.malformed) malformed")
                }
            }
            for e in s.malformedExamples.prefix(verbose ? 20 : 5) { print("  malformed: \(e)") }
            print("""
                \(s.lists.count) lists; \(lines) domain lines → \(s.domains) distinct domains; \
                \(urlLines) url lines → \(s.urls) distinct urls; \(s.combinations) list combinations; \
                \(s.malformed) malformed lines skipped; \(s.keyCollisions) key collisions
                wrote \(output): \(result.bytes.count) bytes in \(fmt(seconds)) s
                """)
        }
    }

    struct Lookup: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Look hosts or URLs up in a category database and show the verdict.",
            discussion: "Each argument is a host (example.com, [::1]:443, bücher.example) or a URL (http://host/path, host/path)."
        )

        @Argument(help: "The category database file.")
        var database: String

        @Argument(help: "Hosts or URLs.")
        var queries: [String]

        @Option(name: .long, help: "Web filter configuration (JSON); default: the standard level, no entries.")
        var config: String?

        func run() throws {
            let policy: WebFilterPolicy
            let file: MappedFile
            do {
                file = try MappedFile(path: database)
                let db = try CategoryDatabase(bytes: file.bytes, owner: file)
                let cfg = try config.map { try WebFilterConfig.load(path: $0) } ?? WebFilterConfig()
                policy = try WebFilterPolicy(config: cfg, database: db)
            } catch {
                throw fail("\(error)")
            }
            for q in queries {
                let v: WebFilterVerdict = Array(q.utf8).withByteView { text in
                    let (h, p) = URLText.split(text)
                    return policy.decide(host: h, path: p)
                }
                let all = v.match.categories.ids.map { id -> String in
                    let n = policy.listName(id)
                    return "\(n)(\(policy.taxonomy.entry(n).group.rawValue))"
                }
                let kind = v.match.kind
                let how = v.match.urlMatched ? ", url prefix" :
                    (v.match.domainLabels == 0 ? "" :
                        (v.match.domainLabels == v.match.hostLabels ? ", exact host" : ", parent domain"))
                print("\(q)\t\(kind)\tcategories=[\(all.joined(separator: ","))]\(how)\t\(policy.describe(v))")
            }
        }
    }

    struct Bench: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Measure lookups per second on one core with a mix of hits and misses.",
            discussion: """
                Hosts are drawn from the category folder's domains and urls files: exact hits, \
                hits under one to three extra labels (parent-domain walks), URL-prefix hits, and \
                misses (the same names under an unlisted domain). The database is memory-mapped.
                """
        )

        @Argument(help: "The category database file.")
        var database: String

        @Option(name: .long, help: "The category folder the database was compiled from.")
        var categories: String

        @Option(name: .long, help: "Number of lookups to time.")
        var lookups: Int = 20_000_000

        @Option(name: .long, help: "Distinct queries in the working set.")
        var distinct: Int = 1_000_000

        func run() throws {
            let file: MappedFile
            let db: CategoryDatabase
            do {
                let t0 = MonotonicClock.nanoseconds()
                file = try MappedFile(path: database)
                db = try CategoryDatabase(bytes: file.bytes, owner: file)
                print("loaded \(database) (\(db.byteCount) bytes, \(db.domainCount) domains, \(db.urlCount) urls) in \(fmt(MonotonicClock.seconds(since: t0))) s")
            } catch {
                throw fail("\(error)")
            }
            let queries = try BenchQueries.make(folder: categories, count: distinct)
            // Queries packed into one buffer: (host offset, host length, path offset, path length).
            var hits = 0
            var blob: [UInt8] = []
            var spans: [(Int, Int, Int, Int)] = []
            for (h, p) in queries {
                let ho = blob.count; blob += h.utf8
                let po = blob.count; blob += p.utf8
                spans.append((ho, h.utf8.count, po, p.utf8.count))
            }
            let policy = try WebFilterPolicy(config: WebFilterConfig(), database: db)
            for mode in ["lookup", "decide"] {
                let decide = mode == "decide"
                hits = 0
                let start = MonotonicClock.nanoseconds()
                let cpuStart = ProcessStats.cpuSeconds()
                blob.withUnsafeBytes { raw in
                    let all = ByteView(raw)
                    var i = 0
                    let n = spans.count
                    for _ in 0..<lookups {
                        let s = spans[i]
                        let h = all.slice(s.0, s.1) ?? .empty, p = all.slice(s.2, s.3) ?? .empty
                        if !decide {
                            if !db.lookup(host: h, path: p).categories.isEmpty { hits &+= 1 }
                        } else {
                            if policy.decide(host: h, path: p).action != .allow { hits &+= 1 }
                        }
                        i &+= 1
                        if i == n { i = 0 }
                    }
                }
                let seconds = MonotonicClock.seconds(since: start)
                let cpu = ProcessStats.cpuSeconds() - cpuStart
                let rate = Double(lookups) / cpu
                print("""
                    \(mode): \(lookups) in \(fmt(seconds)) s wall, \(fmt(cpu)) s CPU = \(Int(rate)) /s per core \
                    (\(fmt(1e9 / rate)) ns each, \(Int(Double(lookups) / seconds)) /s wall); \
                    \(hits * 100 / max(lookups, 1))% categorised or blocked
                    """)
            }
            print("peak RSS \(ProcessStats.peakResidentBytes() / 1_048_576) MiB (includes the query set)")
        }
    }
}

/// A deterministic query mix for the benchmark.
enum BenchQueries {
    static func make(folder: String, count: Int) throws -> [(String, String)] {
        let base = try CategoryCompiler.listFolder(folder)
        var names: [String] = [], urls: [String] = []
        for list in ["malware", "phishing", "gambling", "redirector", "jobsearch", "shopping", "games", "dating", "vpn", "press"] {
            if let s = try? String(contentsOfFile: base + "/" + list + "/domains", encoding: .utf8) {
                names += s.split(separator: "\n").prefix(40_000).map(String.init)
            }
            if let s = try? String(contentsOfFile: base + "/" + list + "/urls", encoding: .utf8) {
                urls += s.split(separator: "\n").prefix(5_000).map(String.init)
            }
        }
        guard !names.isEmpty else { throw fail("no domains under \(base)") }
        var rng = SplitMix(seed: 42)
        let prefixes = ["www.", "cdn.", "a.b.", "img.static.", "m.", "x1.y2.z3."]
        var out: [(String, String)] = []
        out.reserveCapacity(count)
        for i in 0..<count {
            let n = names[Int(rng.next() % UInt64(names.count))]
            switch i % 10 {
            case 0, 1: out.append((n, "/"))                                             // exact hit
            case 2, 3, 4: out.append((prefixes[i % prefixes.count] + n, "/index.html")) // parent walk
            case 5 where !urls.isEmpty:                                                 // URL prefix
                let u = urls[Int(rng.next() % UInt64(urls.count))]
                let slash = u.firstIndex(of: "/") ?? u.endIndex
                out.append((String(u[..<slash]), String(u[slash...]) + "/page"))
            default:                                                                    // miss
                let label = n.split(separator: ".").first.map(String.init) ?? "x"
                out.append(("www." + label + "-\(i % 977).example-office.co.jp", "/search?q=\(i)"))
            }
        }
        return out
    }
}

struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e3779b97f4a7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58476d1ce4e5b9
        z = (z ^ (z >> 27)) &* 0x94d049bb133111eb
        return z ^ (z >> 31)
    }
}
