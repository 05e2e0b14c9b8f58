/// An operator's state as of one moment, to be written later: values that share their storage
/// with the live state (copy-on-write: the live state copies only what it changes afterwards),
/// so a checkpoint takes it between batches at once and serialises it on another thread while
/// processing goes on — the asynchronous snapshot of Flink's heap state backend.
typealias FrozenState = @Sendable (inout StateWriter) -> Void

/// An operator with state that checkpoints carry, under its stable name (a new job version
/// finds its state by that name).
protocol CheckpointedOperator: AnyObject {
    var name: String { get }
    /// What the state is (operator type and the parameters that shape it): a new job version
    /// whose operator of the same name keeps a different kind cannot take the state.
    var stateKind: String { get }
    /// Called between batches: the state as of the last record pushed. Must not copy the
    /// state (it is called with the pipeline stopped).
    func freeze() -> FrozenState
    /// Called before any record, after the task's watermark was restored.
    func restore(from r: inout StateReader) throws(StateError)
}

extension CheckpointedOperator {
    /// The state written now.
    func snapshot(into w: inout StateWriter) { freeze()(&w) }
}

/// A checkpointed operator as a task holds it. Its closures are made where the operator's
/// type is concrete (the job's own record type, specialised across modules), so writing and
/// reading its state can run code specialised for it rather than the protocol's generic path.
struct StatefulOperator {
    let op: any CheckpointedOperator
    private let freezer: () -> FrozenState
    private let restorer: (inout StateReader) throws(StateError) -> Void

    init<O: CheckpointedOperator>(_ o: O) {
        op = o
        freezer = { o.freeze() }
        restorer = { (r: inout StateReader) throws(StateError) in try o.restore(from: &r) }
    }

    var name: String { op.name }
    var stateKind: String { op.stateKind }
    func freeze() -> FrozenState { freezer() }
    func restore(from r: inout StateReader) throws(StateError) { try restorer(&r) }
    func snapshot(into w: inout StateWriter) { freezer()(&w) }
}
