import ArgumentParser
import Foundation
import KafkaClient

/// `riverbank transactions list|describe`: what Kafka's kafka-transactions.sh shows — the
/// transactional ids, their state, and the partitions of the open ones (a hanging
/// transaction holds read_committed consumers at its first offset).
struct TransactionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transactions",
        abstract: "List and describe the transactions a cluster's coordinators know (any Kafka broker).",
        subcommands: [List.self, Describe.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every transactional id with its producer id and state.")
        @Option(help: "Broker(s) to bootstrap from.") var bootstrap = "127.0.0.1:9092"
        @Option(help: "Only these states (Empty, Ongoing, PrepareCommit, PrepareAbort, CompleteCommit, CompleteAbort), comma-separated.")
        var state: String?
        @Option(help: "Only transactions open longer than this many seconds (hanging ones).") var openLongerThan: Double?
        @OptionGroup(title: "Security") var security: ClientSecurityOptions

        func run() async throws {
            let admin = KafkaAdmin(config: try security.client(bootstrap: bootstrap))
            defer { Task { await admin.close() } }
            let states = state.map { $0.split(separator: ",").map { String($0) } } ?? []
            let all = try await admin.listTransactions(states: states, openLongerThan: openLongerThan.map { .milliseconds(Int64($0 * 1000)) })
            print("TRANSACTIONAL ID\tPRODUCER ID\tSTATE")
            for t in all.sorted(by: { $0.transactionalID < $1.transactionalID }) { print("\(t.transactionalID)\t\(t.producerID)\t\(t.state)") }
        }
    }

    struct Describe: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "State, epoch, timeout, start time and partitions of transactional ids.")
        @Option(help: "Broker(s) to bootstrap from.") var bootstrap = "127.0.0.1:9092"
        @Argument(help: "Transactional ids.") var ids: [String]
        @Flag(help: "JSON, one object per id.") var json = false
        @OptionGroup(title: "Security") var security: ClientSecurityOptions

        func run() async throws {
            let admin = KafkaAdmin(config: try security.client(bootstrap: bootstrap))
            defer { Task { await admin.close() } }
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            for t in try await admin.describeTransactions(ids) {
                let parts = t.partitions.map { "\($0.topic)-\($0.partition)" }
                if json {
                    let o: [String: Any] = ["transactional_id": t.transactionalID, "state": t.state, "producer_id": t.producerID,
                                            "producer_epoch": t.producerEpoch, "timeout_ms": t.timeoutMs, "start_time_ms": t.startTimeMs,
                                            "partitions": parts]
                    print(String(decoding: try JSONSerialization.data(withJSONObject: o, options: [.sortedKeys]), as: UTF8.self))
                } else {
                    let open = t.startTimeMs >= 0 ? ", open \(String(format: "%.1f", Double(now - t.startTimeMs) / 1000)) s" : ""
                    print("\(t.transactionalID): \(t.state) (producer \(t.producerID), epoch \(t.producerEpoch), timeout \(t.timeoutMs) ms\(open))"
                          + (parts.isEmpty ? "" : "\n  partitions: \(parts.joined(separator: ", "))"))
                }
            }
        }
    }
}
