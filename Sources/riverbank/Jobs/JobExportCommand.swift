import ArgumentParser
import Foundation
import Jobs

extension JobCommand {
    /// `riverbank job export --flink-sql FILE`: the same job as a Flink SQL script, for a team
    /// that moves it to a Flink cluster. Errors (what Flink SQL cannot say) are printed like
    /// validation errors; where results can differ, the script's comments say so.
    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write a job file as Flink SQL (CREATE TABLE with WATERMARK, window TVFs, OVER).")
        @Flag(help: "Flink SQL (the only target so far).") var flinkSql = false
        @Argument(help: "The job file.") var file: String
        @Option(help: "Bootstrap servers written into the Kafka tables.") var bootstrap = "127.0.0.1:9092"
        @Option(help: "Read a source from JSON files instead of Kafka: SOURCE=DIR (repeatable).") var sourcePath: [String] = []
        @Option(help: "Write a sink as JSON files instead of Kafka: SINK=DIR (repeatable).") var sinkPath: [String] = []
        @Option(name: .shortAndLong, help: "Write the script here (default: standard output).") var output: String?

        func run() throws {
            guard flinkSql else { throw ValidationError("say which dialect: --flink-sql") }
            let file = try JobLoading.load(path: file)
            var o = FlinkSQLExport.Options()
            o.bootstrap = bootstrap
            o.sourcePaths = try Run.pairs(sourcePath, "--source-path")
            o.sinkPaths = try Run.pairs(sinkPath, "--sink-path")
            let script: FlinkSQLExport.Script
            do {
                script = try FlinkSQLExport.export(file, options: o)
            } catch {
                print(error.rendered)
                print("\(self.file): \(error.count) problem\(error.count == 1 ? "" : "s") — this job cannot be written as Flink SQL")
                throw ExitCode.failure
            }
            if let output {
                try script.sql.write(toFile: output, atomically: true, encoding: .utf8)
                FileHandle.standardError.write(Data("wrote \(output)\(script.notes.isEmpty ? "" : "; \(script.notes.count) note(s) on where Flink's results can differ, in its comments")\n".utf8))
            } else {
                print(script.sql, terminator: "")
            }
        }
    }
}
