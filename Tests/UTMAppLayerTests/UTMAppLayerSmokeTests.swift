import Testing
@testable import UTMAppLayer

@Test func UTMAppLayerBuilds() {
    #expect(Bool(true))
}
