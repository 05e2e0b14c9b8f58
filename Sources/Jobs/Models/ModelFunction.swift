import Foundation
import Synchronization

/// `MODEL_SCORE('models/fraud-gbdt.json', x1, x2, …)`: the probability a tree model gives the
/// row's inputs (Riverbank's own function). The file is read when the job is checked —
/// `job validate` reports a missing or damaged file, or arguments that do not fit its inputs,
/// at the call — and once per process. A relative path is looked up from the working
/// directory, then from the job file's folder and its parent (`jobs/x.yaml` finds
/// `models/y.json` beside `jobs/`).
enum ModelFunction {
    static let cache = Mutex<[String: TreeModel]>([:])

    /// Folders a relative model path is looked up in, while a job file is checked or planned.
    @TaskLocal static var roots: [String] = []

    static func roots(forJobFile file: String) -> [String] {
        let dir = URL(fileURLWithPath: file).deletingLastPathComponent()
        return [FileManager.default.currentDirectoryPath, dir.path, dir.deletingLastPathComponent().path]
    }

    static func resolve(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        for r in roots {
            let p = URL(fileURLWithPath: r).appendingPathComponent(path).standardizedFileURL.path
            if FileManager.default.fileExists(atPath: p) { return p }
        }
        return path
    }

    static func model(_ path: String) throws(ModelError) -> TreeModel {
        let path = resolve(path)
        if let m = cache.withLock({ $0[path] }) { return m }
        let m = try TreeModel.load(path: path)
        cache.withLock { $0[path] = m }
        return m
    }

    static let versionFunction = ScalarFunction(
        name: "MODEL_VERSION",
        signature: "MODEL_VERSION('model file') → STRING, the version the model file names (alerts carry it) (Riverbank)",
        arity: 1...1,
        typing: { args in
            guard case .string(let path)? = args[0].literal else { return .failed("the model file must be a string literal", argument: 0) }
            do throws(ModelError) { _ = try model(path) } catch { return .failed(error.message, argument: 0) }
            return .ok(Signature(parameters: [.string], result: .string, nullability: .never))
        },
        build: { c in
            guard case .string(let path)? = c.args[0].constant, let m = try? model(path) else { return .string { _ in nil } }
            let v = m.version
            return .string { _ in v }
        })

    static let scoreFunction = ScalarFunction(
        name: "MODEL_SCORE",
        signature: "MODEL_SCORE('model file', input…) → DOUBLE in 0…1, the probability a tree model (riverbank fraud train) gives the inputs, in the model's order: numbers or BOOLEANs, STRINGs for its categorical inputs (Riverbank)",
        arity: 1...257,
        typing: { args in
            guard case .string(let path)? = args[0].literal else { return .failed("the model file must be a string literal", argument: 0) }
            let m: TreeModel
            do throws(ModelError) { m = try model(path) } catch { return .failed(error.message, argument: 0) }
            guard args.count - 1 == m.inputs.count else {
                return .failed("model \(m.name) \(m.version) takes \(m.inputs.count) inputs (\(m.inputs.map(\.name).joined(separator: ", "))), got \(args.count - 1)", argument: nil)
            }
            var params: [SQLType?] = [.string]
            for (i, input) in m.inputs.enumerated() {
                let t = args[i + 1].type
                if input.categories != nil {
                    guard t == .string else { return .failed("input \(i + 1) (\(input.name)) is categorical: give a STRING", argument: i + 1) }
                    params.append(.string)
                } else if t == .boolean {
                    params.append(nil)
                } else {
                    guard t == .bigint || t == .double else { return .failed("input \(i + 1) (\(input.name)) is numeric: give a number or a BOOLEAN", argument: i + 1) }
                    params.append(.double)
                }
            }
            return .ok(Signature(parameters: params, result: .double, nullability: .never))
        },
        build: { c in
            guard case .string(let path)? = c.args[0].constant, let m = try? model(path) else { return .double { _ in nil } }
            // Each argument read as the model wants it: a number (BOOLEAN as 0/1) or a category.
            enum Reader { case number(Eval<Double>), flag(Eval<Bool>), text(Eval<String>) }
            let readers: [Reader] = c.args.dropFirst().enumerated().map { i, a in
                if m.inputs[i].categories != nil { return .text(a.compiled.asString) }
                if case .bool(let f) = a.compiled { return .flag(f) }
                return .number(a.compiled.asDouble)
            }
            let width = m.featureCount
            let categories = m.inputs.map(\.categories)
            let forest = FlatForest(m)
            return .double { (row: borrowing Row) throws(EvaluationError) -> Double? in
                try withUnsafeTemporaryAllocation(of: Double.self, capacity: width) { (x) throws(EvaluationError) -> Double? in
                    var k = 0
                    for (i, r) in readers.enumerated() {
                        switch r {
                        case .number(let f):
                            x[k] = try f(row) ?? .nan
                            k += 1
                        case .flag(let f):
                            x[k] = try f(row).map { $0 ? 1 : 0 } ?? .nan
                            k += 1
                        case .text(let f):
                            let s = try f(row)
                            for cat in categories[i]! {
                                x[k] = s == cat ? 1 : 0
                                k += 1
                            }
                        }
                    }
                    return 1 / (1 + Foundation.exp(-forest.margin(UnsafeBufferPointer(x))))
                }
            }
        })
}
