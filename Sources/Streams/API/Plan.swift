import KafkaClient

/// What a task is built from: the per-task context and the operators already made for it (a
/// node with several inputs — a union — is made once and shared by them).
final class TaskBuilder {
    let ctx: TaskContext
    var memo: [ObjectIdentifier: Any] = [:]
    /// Gauges of state size, read after each batch.
    var stateProbes: [() -> Int] = []
    /// Operators whose state checkpoints carry, in pipeline order.
    var stateful: [any CheckpointedOperator] = []

    init(ctx: TaskContext) { self.ctx = ctx }
}

/// A node of the job graph carrying elements of type T; its outputs make the downstream
/// operators of one task. Mutated only while the job is defined, then read by every task.
final class Node<T>: @unchecked Sendable {
    let name: String
    var outputs: [@Sendable (TaskBuilder) -> Emit<T>] = []

    init(name: String) { self.name = name }

    func instantiate(_ b: TaskBuilder) -> Emit<T> {
        let id = ObjectIdentifier(self)
        if let e = b.memo[id] as? Emit<T> { return e }
        let outs = outputs.map { $0(b) }
        let e: Emit<T>
        switch outs.count {
        case 0: e = { _, _ in }
        case 1: e = outs[0]
        default: e = { v, ts in for o in outs { o(v, ts) } }
        }
        b.memo[id] = e
        return e
    }
}

/// A source as the runtime sees it: a topic, and per task a function that decodes one record
/// and pushes it into the pipeline (or reports why it cannot).
struct SourcePlan: Sendable {
    var topic: String
    var outOfOrderness: Millis
    var idleTimeout: Duration?
    /// Makes the task's entry point: decode + timestamp + push. Throws FormatError for input
    /// that goes to the dead-letter topic.
    var makeEntry: @Sendable (TaskBuilder) -> (ConsumerRecord) throws(FormatError) -> Millis
}
