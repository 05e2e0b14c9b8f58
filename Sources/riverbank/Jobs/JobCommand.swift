import ArgumentParser
import Foundation
import Jobs

struct JobCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "job",
        abstract: "Work with job definition files (jobs/*.yaml).",
        subcommands: [Validate.self, Run.self, Deploy.self, Upgrade.self, List.self, Status.self, Stop.self, Replay.self, Diff.self, Export.self]
    )

    /// Checks job files without running anything: structure, names, references and every
    /// expression's types; all problems of every file, each with file:line:column and a caret.
    struct Validate: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Check job files: every problem, with its line and column.")
        @Argument(help: "Job files, or folders of them (*.yaml, *.yml).") var paths: [String] = ["jobs"]

        /// Where the job's rows cross a repartition topic (a key it is not partitioned by).
        static func repartitions(_ planned: PlannedJob) -> String {
            let topics = planned.job.allStages.flatMap(\.repartitionTopics).sorted()
            return topics.isEmpty ? "" : "; repartitioned through \(topics.joined(separator: ", "))"
        }

        func run() throws {
            var files: [String] = []
            for p in paths {
                var dir: ObjCBool = false
                if FileManager.default.fileExists(atPath: p, isDirectory: &dir), dir.boolValue {
                    let names = (try? FileManager.default.contentsOfDirectory(atPath: p)) ?? []
                    let dir = p.hasSuffix("/") ? String(p.dropLast()) : p
                    files += names.filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted().map { "\(dir)/\($0)" }
                } else {
                    files.append(p)
                }
            }
            guard !files.isEmpty else {
                print("no job files in \(paths.joined(separator: ", "))")
                throw ExitCode.failure
            }
            var failed = 0
            for f in files {
                switch JobFile.load(path: f) {
                case .success(let job):
                    let d = job.definition
                    // What the checks accept but the runner cannot run yet is a problem too.
                    let planned: PlannedJob
                    do { planned = try JobPlanner.plan(job) } catch {
                        failed += 1
                        print(error.rendered)
                        print("\(f): \(error.count) problem\(error.count == 1 ? "" : "s")")
                        continue
                    }
                    print("\(f): ok — job \(d.name) v\(d.version): \(d.sources.count) source(s), \(d.tables.isEmpty ? "" : "\(d.tables.count) table(s), ")\(d.operators.count) operator(s), \(d.sinks.count) sink(s)"
                          + Self.repartitions(planned))
                case .failure(let problems):
                    failed += 1
                    print(problems.rendered)
                    print("\(f): \(problems.count) problem\(problems.count == 1 ? "" : "s")")
                }
            }
            if failed > 0 { throw ExitCode.failure }
        }
    }
}
