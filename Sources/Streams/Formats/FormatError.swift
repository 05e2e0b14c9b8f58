/// Why an input record could not be decoded: the byte offset inside the value and the reason.
/// Records that fail go to the job's dead-letter topic with this text; the job keeps running.
public struct FormatError: Error, Sendable, Equatable, CustomStringConvertible {
    public var offset: Int
    public var reason: String

    public init(offset: Int, _ reason: String) {
        self.offset = offset
        self.reason = reason
    }

    public var description: String { "byte \(offset): \(reason)" }
}
