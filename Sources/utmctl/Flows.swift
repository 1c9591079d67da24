import ArgumentParser
import Foundation

/// `utmctl flows`: the biggest connections going through the box right now.
struct Flows: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the active flows with the most bytes: endpoints, application, zone pair.",
        discussion: """
            Answers "who is using the line right now?". Zones read in→out of the first packet \
            (lan→wan: a device in the office started it). Root only (the control socket is 0600).
              utmctl flows --top 10
            """)

    @Option(name: .long, help: "utmd's control socket.")
    var socket: String = ControlClient.defaultPath

    @Option(name: .long, help: "How many flows (1-100).")
    var top: Int = 20

    @Flag(name: .long, help: "Print the answer as one JSON object.")
    var json = false

    func validate() throws {
        guard (1...100).contains(top) else { throw ValidationError("--top must be between 1 and 100") }
    }

    func run() throws {
        let answer = try ControlClient.ask(["command": "flows", "limit": top], socket: socket)
        if json {
            print(ControlClient.json(answer))
            return
        }
        let rows = answer["flows"] as? [[String: Any]] ?? []
        if rows.isEmpty {
            print("no active flows")
            return
        }
        func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s + " " : s.padding(toLength: n, withPad: " ", startingAt: 0) }
        var out = pad("SOURCE", 24) + pad("DESTINATION", 24) + pad("PROTO", 6) + pad("APP", 20) + pad("ZONE", 12) + "BYTES\n"
        for r in rows {
            out += pad("\(r["src_ip"] ?? "?"):\(r["src_port"] ?? "?")", 24)
                + pad("\(r["dest_ip"] ?? "?"):\(r["dest_port"] ?? "?")", 24)
                + pad("\(r["proto"] ?? "?")", 6) + pad("\(r["app"] ?? "?")", 20) + pad("\(r["zone"] ?? "-")", 12)
                + Human.bytes(Human.number(r["bytes"])) + "\n"
        }
        if let stale = answer["stale_queues"] as? [Int], !stale.isEmpty {
            out += "(queues \(stale.map(String.init).joined(separator: ", ")) did not answer in time; their flows may be missing)\n"
        }
        print(out, terminator: "")
    }
}
