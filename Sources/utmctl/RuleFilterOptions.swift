import ArgumentParser
import UTMDetect

/// `--disable-conf/--enable-conf/--modify-conf/--drop-conf`: suricata-update's filter files,
/// shared by `rules check`, `defs compile` and `replay` (RuleFilters.swift has the syntax).
struct RuleFilterOptions: ParsableArguments {
    @Option(name: .customLong("disable-conf"), help: "suricata-update disable.conf: rules to switch off (sid, gid:sid, re:, group:, metadata:).")
    var disableConf: [String] = []

    @Option(name: .customLong("enable-conf"), help: "suricata-update enable.conf: commented-out rules to switch on.")
    var enableConf: [String] = []

    @Option(name: .customLong("modify-conf"), help: "suricata-update modify.conf: MATCHER \"FROM\" \"TO\" regex rewrites of rule text.")
    var modifyConf: [String] = []

    @Option(name: .customLong("drop-conf"), help: "suricata-update drop.conf: alert rules to turn into drop rules.")
    var dropConf: [String] = []

    var isEmpty: Bool { disableConf.isEmpty && enableConf.isEmpty && modifyConf.isEmpty && dropConf.isEmpty }

    /// The files read and parsed; nil when none was given. A file that cannot be read, or a
    /// bad line (`FILE:LINE: reason`), is a one-line failure.
    func load() throws -> RuleFilters? {
        guard !isEmpty else { return nil }
        var filters = RuleFilters()
        // Each option repeatable: the vendor's file and the customer's both apply.
        let files: [(RuleFilters.Kind, String)] = disableConf.map { (.disable, $0) } + enableConf.map { (.enable, $0) }
            + modifyConf.map { (.modify, $0) } + dropConf.map { (.drop, $0) }
        for (kind, path) in files {
            let text: String
            do { text = try readTextFile(path) } catch { throw fail("\(kind.rawValue)-conf: \(error)") }
            do { try filters.add(text, kind: kind, name: path) } catch { throw fail("\(kind.rawValue)-conf: \(error.location): \(error.message)") }
        }
        return filters
    }
}

extension RuleError {
    /// `file:line` alone (the description adds "invalid rule:", which is wrong for filter files).
    var location: String { file.isEmpty ? "line \(line)" : "\(file):\(line)" }
}

extension RuleFilterCounts {
    /// "disabled N, enabled N, dropped N, modified N" (and the failed modifications and the
    /// flowbit setters loaded again, if any).
    var summary: String {
        "disabled \(disabled), enabled \(enabled), dropped \(dropped), modified \(modified)"
            + (modifyFailed > 0 ? " (\(modifyFailed) modifications made their rule unloadable and were not applied)" : "")
            + (flowbitEnabled > 0 ? "; re-enabled \(flowbitEnabled) left-out rules as noalert: they set flowbits that loaded rules check" : "")
    }
}
