import ArgumentParser
import Foundation

/// `utmctl status`: is the box inspecting, how much, and are its definitions, activation,
/// cloud link and firmware in order — the first thing the support desk asks for.
struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show whether utmd is inspecting traffic: queues, throughput, drops, definitions, cloud, firmware.",
        discussion: """
            Asks the running daemon over its control socket (root only). What to look at first:
              drops, socket overruns growing  overloaded: traffic passes uninspected
              definitions older than 2 days   updates are not arriving: 'utmctl diag'
              cloud reachable: no             alerts wait on the box (two weeks kept)
            Fields other services have not reported yet read "unknown".
            """)

    @Option(name: .long, help: "utmd's control socket.")
    var socket: String = ControlClient.defaultPath

    @Flag(name: .long, help: "Print the daemon's answer as one JSON object (for scripts).")
    var json = false

    func run() throws {
        let s = try ControlClient.ask(["command": "status"], socket: socket)
        if json {
            print(ControlClient.json(s))
            return
        }
        let totals = s["totals"] as? [String: Any] ?? [:]
        var out = "utmd: running since \(s["running_since"] ?? "?") (up \(Human.duration(Int(Human.number(s["uptime_seconds"]))))), "
            + "\(s["mode"] ?? "?") mode, queues \(s["queue_range"] ?? "?")\n"
        out += "  throughput   \(Human.bits(Human.number(totals["bits_per_second"]))), "
            + "\(Int(Human.number(totals["packets_per_second"]))) packets/s\n"
        out += "  total        \(Int(Human.number(totals["packets"]))) packets, \(Human.bytes(Human.number(totals["bytes"]))), "
            + "\(Int(Human.number(totals["active_flows"]))) active flows\n"
        out += "  dropped      \(Int(Human.number(totals["dropped"]))) packets (\(Int(Human.number(totals["blocked_packets"]))) blocked by policy), "
            + "\(Int(Human.number(totals["socket_overruns"]))) socket overruns, \(Int(Human.number(totals["alerts"]))) alerts\n"
        for q in s["queues"] as? [[String: Any]] ?? [] {
            out += "  queue \(Int(Human.number(q["queue"])))      \(Int(Human.number(q["packets"]))) packets, "
                + "\(Human.bytes(Human.number(q["bytes"]))), \(Int(Human.number(q["dropped"]))) dropped, "
                + "\(Human.bits(Human.number(q["bits_per_second"])))\n"
        }
        let d = s["definitions"] as? [String: Any] ?? [:]
        out += "definitions: loaded \(d["loaded_at"] ?? "?")"
        if let v = d["versions"] as? [String: Any] {
            out += ", versions " + v.keys.sorted().map { "\($0) \(v[$0]!)" }.joined(separator: ", ")
        } else {
            out += ", versions unknown"
        }
        out += "\n"
        func files(_ label: String, _ list: Any?) {
            for f in list as? [[String: Any]] ?? [] {
                let age = f["age_days"].map { "\(Int(Human.number($0))) days old" } ?? "missing"
                out += "  \(label.padding(toLength: 11, withPad: " ", startingAt: 0)) \(f["path"] ?? "?") (\(age))\n"
            }
        }
        files("rules", d["rules"])
        files("antivirus", d["av_db"])
        if let c = d["categories"] as? [String: Any] { files("categories", [c]) }
        if let note = d["note"] as? String { out += "  \(note)\n" }
        out += "activation: \(s["activation"] ?? "unknown")\n"
        let cloud = s["cloud"] as? [String: Any] ?? [:]
        out += "cloud: reachable \(cloud["reachable"] ?? "unknown"), last contact \(cloud["last_contact"] ?? "unknown")\n"
        let fw = s["firmware"] as? [String: Any] ?? [:]
        if let slots = fw["slots"] as? [String: Any] {
            out += "firmware: active \(fw["active"] ?? "unknown"); "
                + slots.keys.sorted().map { "slot \($0) \(slots[$0]!)" }.joined(separator: ", ") + "\n"
        } else {
            out += "firmware: slots unknown\n"
        }
        print(out, terminator: "")
    }
}
