import Foundation

/// A job file read and checked: its definition and the rows each source and operator
/// produces, or every problem found (YAML structure first; then, when the structure is sound,
/// names, references and expression types).
public struct JobFile: Sendable {
    public var definition: JobDefinition
    public var schemas: [String: RowSchema]
    /// The file's text (the planner's errors quote its lines).
    public var text: String

    public static func check(_ text: String, file: String) -> Result<JobFile, Diagnostics> {
        let (def, problems) = JobFileParser.parse(text, file: file)
        guard let def else { return .failure(problems) }
        let (schemas, diagnostics) = ModelFunction.$roots.withValue(ModelFunction.roots(forJobFile: file)) {
            JobValidator.validate(def, text: text)
        }
        guard diagnostics.isEmpty else { return .failure(diagnostics) }
        return .success(JobFile(definition: def, schemas: schemas, text: text))
    }

    public static func load(path: String) -> Result<JobFile, Diagnostics> {
        guard let data = FileManager.default.contents(atPath: path) else {
            return .failure(Diagnostics([Diagnostic(location: SourceLocation(file: path, line: 1, column: 1), message: "cannot read the file")]))
        }
        guard data.count <= JobFileParser.maxBytes else {
            return .failure(Diagnostics([Diagnostic(location: SourceLocation(file: path, line: 1, column: 1),
                                                    message: "job file of \(data.count) bytes exceeds the \(JobFileParser.maxBytes)-byte limit")]))
        }
        guard let text = String(data: data, encoding: .utf8) else {
            return .failure(Diagnostics([Diagnostic(location: SourceLocation(file: path, line: 1, column: 1), message: "not UTF-8 text")]))
        }
        return check(text, file: path)
    }
}
