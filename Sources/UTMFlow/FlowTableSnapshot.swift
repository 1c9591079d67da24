/// Control-plane view of the table (`utmctl flows`): the daemon's worker visits the active
/// flows when an operator asks, never per packet.
extension FlowTable {
    /// Calls `body` for every flow that has not ended, in slot order.
    public func forEachActive(_ body: (FlowRef, Flow) -> Void) {
        for i in 0..<capacity where generation[i] & 1 == 1 {
            body(FlowRef(index: Int32(i), generation: generation[i]), slots[i])
        }
    }
}
