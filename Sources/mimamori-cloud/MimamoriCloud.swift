import ArgumentParser
import Foundation
import UTMCloudClient
import UTMCloudService

/// mimamori-cloud: the reference cloud service the boxes talk to (issue 7).
///
///     mimamori-cloud init --data DIR --name cloud.example.jp --name 192.0.2.10
///     mimamori-cloud provision --data DIR SERIAL [--email a@example.jp]…   # prints the activation code
///     mimamori-cloud serve --data DIR [--port 8443] [--smtp 127.0.0.1:25]
///     mimamori-cloud command --data DIR SERIAL update-defs | reboot-at TIME | wipe
///     mimamori-cloud status --data DIR SERIAL          # last heartbeat, alerts, pending commands
@main
struct MimamoriCloud: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mimamori-cloud",
        abstract: "The reference cloud service of Mimamori UTM boxes: activation, heartbeats, alerts, notifications.",
        subcommands: [Init.self, Serve.self, Provision.self, Command.self, Publish.self, Status.self])
}

struct DataOption: ParsableArguments {
    @Option(name: .long, help: "The service's data directory (CA, certificates, SQLite).")
    var data = "/var/lib/mimamori-cloud"
}

func fail(_ error: Error) -> Never {
    FileHandle.standardError.write(Data("mimamori-cloud: \(error)\n".utf8))
    Foundation.exit(1)
}

let stderrLog: @Sendable (String) -> Void = { FileHandle.standardError.write(Data("\($0)\n".utf8)) }

struct Init: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Make the CA boxes pin and the server certificate (once).")
    @OptionGroup var data: DataOption
    @Option(name: .long, help: "A name boxes connect to: DNS name or IP address (repeatable).")
    var name: [String] = ["localhost", "127.0.0.1"]

    func run() {
        do {
            let ca = CertificateAuthority(directory: data.data)
            try ca.initialize(names: name)
            print("CA: \(ca.caPath) (ship it with the firmware: boxes trust only this CA)")
            print("server certificate: \(ca.serverCertificatePath) for \(name.joined(separator: ", "))")
        } catch { fail(error) }
    }
}

struct Provision: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Register a box (or reset it) and print its activation code.")
    @OptionGroup var data: DataOption
    @Argument var serial: String
    @Option(name: .long, help: "Notification address (up to three).")
    var email: [String] = []

    func run() {
        do {
            let service = try CloudService(config: config(data.data), log: stderrLog)
            print(try service.provision(serial: serial, emails: email))
        } catch { fail(error) }
    }
}

struct Command: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Queue a command for a box's next heartbeat: update-defs, reboot-at TIME, wipe.")
    @OptionGroup var data: DataOption
    @Argument var serial: String
    @Argument(help: "update-defs | reboot-at | wipe")
    var verb: String
    @Argument(help: "For reboot-at: when (ISO 8601, e.g. 2026-12-07T03:00:00+09:00).")
    var time: String?

    func run() {
        do {
            let kind: CloudCommand.Kind
            switch verb {
            case "update-defs": kind = .updateDefinitions
            case "reboot-at":
                guard time != nil else { throw CloudError("reboot-at needs a time") }
                kind = .reboot
            case "reboot": kind = .reboot
            case "wipe": kind = .wipe
            default: throw CloudError("unknown command \(verb) (update-defs, reboot-at TIME, wipe)")
            }
            let service = try CloudService(config: config(data.data), log: stderrLog)
            let id = try service.queueCommand(serial: serial, kind: kind, at: time)
            print("command \(id) queued for \(serial): delivered with its next heartbeat")
        } catch { fail(error) }
    }
}

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "A box's last heartbeat, alert count and pending commands.")
    @OptionGroup var data: DataOption
    @Argument var serial: String

    func run() {
        do {
            let service = try CloudService(config: config(data.data), log: stderrLog)
            let alerts = try service.alerts(serial: serial)
            let pending = try service.pendingCommands(serial: serial)
            if let beat = try service.lastStatus(serial: serial) {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                print("last heartbeat: \(String(decoding: try encoder.encode(beat), as: UTF8.self))")
            } else {
                print("last heartbeat: none")
            }
            print("alerts: \(alerts.count)")
            print("pending commands: \(pending.map { "\($0.id) \($0.kind.rawValue)\($0.at.map { " " + $0 } ?? "")" }.joined(separator: ", "))")
        } catch { fail(error) }
    }
}

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Serve boxes over mTLS and send notification mails.")
    @OptionGroup var data: DataOption
    @Option(name: .long, help: "Address to listen on.") var listen = "0.0.0.0"
    @Option(name: .long, help: "Port to listen on.") var port: UInt16 = 8443
    @Option(name: .long, help: "SMTP relay HOST:PORT for customer mails.") var smtp = "127.0.0.1:25"
    @Option(name: .long, help: "Sender address of customer mails.") var mailFrom = "mimamori-cloud@localhost"
    @Option(name: .long, help: "Minutes without heartbeat before a box is reported offline.") var offlineMinutes = 10
    @Option(name: .long, help: "Heartbeat interval told to boxes at activation (seconds).") var heartbeatSeconds = 60

    func run() {
        // A parent may have left SIGTERM/SIGINT blocked (spawned children inherit the mask):
        // serve must stop when told to.
        var unblock = sigset_t()
        sigemptyset(&unblock)
        sigaddset(&unblock, SIGTERM)
        sigaddset(&unblock, SIGINT)
        pthread_sigmask(SIG_UNBLOCK, &unblock, nil)
        do {
            var c = config(data.data)
            c.listenHost = listen
            c.port = port
            c.mailFrom = mailFrom
            c.offlineMinutes = offlineMinutes
            c.heartbeatSeconds = heartbeatSeconds
            let parts = smtp.split(separator: ":")
            guard parts.count == 2, let smtpPort = UInt16(parts[1]) else { throw CloudError("--smtp must be HOST:PORT") }
            let service = try CloudService(config: c, log: stderrLog)
            let server = try CloudServer(service: service)
            server.start()
            stderrLog("mimamori-cloud: serving on \(listen):\(server.port), mail via \(smtp)")
            let mailer = SMTPClient(host: String(parts[0]), port: smtpPort)
            while true {
                sleep(30)
                let r = service.notify(smtp: mailer)
                for s in r.alertMails { stderrLog("mimamori-cloud: mail sent: \(s)") }
            }
        } catch { fail(error) }
    }
}

func config(_ dir: String) -> CloudServiceConfig {
    var c = CloudServiceConfig()
    c.dataDirectory = dir
    return c
}
