import Testing
@testable import UTMStore
