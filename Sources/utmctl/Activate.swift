import ArgumentParser
import Foundation
import UTMCloudClient

/// `utmctl activate`: the box's first start [000 6.1] — serial number and activation code to
/// the cloud, device certificate and settings back, stored 0600 where utmd's cloud client
/// finds them. The cloud's CA (shipped with the firmware) is the only CA trusted.
struct Activate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Activate the box with the cloud (serial + activation code → device certificate).",
        discussion: """
            utmctl activate --cloud cloud.example.jp:8443 --serial MMR-0001 --code ABCD-EFGH-JKLM-NPQR
            The box then reports only to that cloud; activate again to move it.
            """)

    @Option(name: .long, help: "The cloud as HOST:PORT.")
    var cloud: String

    @Option(name: .long, help: "The box's serial number.")
    var serial: String

    @Option(name: .long, help: "The activation code from the contract papers.")
    var code: String

    @Option(name: .long, help: "The cloud CA to pin (PEM).")
    var ca = "/etc/mimamori/cloud-ca.pem"

    @Option(name: .long, help: "Where the credentials go.")
    var credentials = CloudCredentials.defaultDirectory

    func run() throws {
        guard let colon = cloud.lastIndex(of: ":"), let port = UInt16(cloud[cloud.index(after: colon)...]) else {
            throw ValidationError("--cloud must be HOST:PORT, not \(cloud)")
        }
        let host = String(cloud[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        do {
            let c = try CloudActivation.activate(host: host, port: port, caFile: ca, serial: serial, code: code, directory: credentials)
            print("activated \(serial) with \(host):\(port); heartbeat every \(c.info.settings.heartbeat_seconds) s; "
                + "credentials in \(credentials)")
        } catch {
            FileHandle.standardError.write(Data("utmctl: activation failed: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}
