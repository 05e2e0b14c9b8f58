/// An operator with state that checkpoints carry, under its stable name (a new job version
/// finds its state by that name).
protocol CheckpointedOperator: AnyObject {
    var name: String { get }
    /// What the state is (operator type and the parameters that shape it): a new job version
    /// whose operator of the same name keeps a different kind cannot take the state.
    var stateKind: String { get }
    /// Called between batches: the state as of the last record pushed.
    func snapshot(into w: inout StateWriter)
    /// Called before any record, after the task's watermark was restored.
    func restore(from r: inout StateReader) throws(StateError)
}
