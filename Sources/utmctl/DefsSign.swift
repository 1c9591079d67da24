import ArgumentParser
import UTMSystem
import UTMUpdate

extension Defs {
    /// `utmctl defs sign`: wraps definition files (or one firmware image) into a signed artifact.
    struct Sign: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Sign definition files or a firmware image into a MIMASIG1 artifact.",
            discussion: """
                Definitions: every FILE goes into the artifact under its base name (rule files, \
                ClamAV databases, one compiled category database). Firmware: exactly one image. \
                SEQUENCE must grow with every release of a kind: boxes refuse anything not newer.
                """)

        @Option(name: .long, help: "The private key file (from `defs keygen`).")
        var key: String

        @Option(name: .long, help: "ips, av, categories or firmware.")
        var kind: String

        @Option(name: .long, help: "Release sequence number (firmware: the version).")
        var sequence: UInt64

        @Option(name: .long, help: "Days until the signature expires.")
        var expiresDays: UInt64 = 30

        @Option(name: .shortAndLong, help: "The artifact to write.")
        var output: String

        @Argument(help: "The files to sign.")
        var files: [String]

        func run() throws {
            let k = try parseKind(kind)
            let priv: [UInt8]
            var payload: [UInt8]
            do {
                priv = try Keyring.readKey(key, length: 32)
                if k == .firmware {
                    guard files.count == 1 else { throw fail("firmware: give exactly one image") }
                    payload = try readWholeFile(files[0])
                } else {
                    var entries: [(name: String, bytes: [UInt8])] = []
                    for f in files {
                        let base = String(f.split(separator: "/").last ?? "")
                        guard PayloadArchive.isSafeName(base) else { throw fail("\(f): unusable file name") }
                        entries.append((base, try readWholeFile(f)))
                    }
                    payload = PayloadArchive.encode(entries)
                }
            } catch let e as ExitCode {
                throw e
            } catch {
                throw fail("\(error)")
            }
            let now = unixNow
            guard let bytes = SignedArtifact.sign(kind: k, sequence: sequence, created: now, expires: now + expiresDays * 86_400,
                                                  payload: payload, privateKey: priv) else {
                throw fail("\(key): signing failed")
            }
            payload.removeAll()
            do { try DurableFile.write(bytes, to: output) } catch { throw fail("\(error)") }
            print("wrote \(output): \(k.name) sequence \(sequence), \(bytes.count) bytes, expires in \(expiresDays) days")
        }
    }
}
