/// Kafka's rules for topic names: 1–249 chars of [a-zA-Z0-9._-], not "." or "..".
public enum TopicName {
    public static let maxLength = 249

    public static func validationError(_ name: String) -> String? {
        if name.isEmpty { return "topic name is empty" }
        if name == "." || name == ".." { return "topic name cannot be '.' or '..'" }
        if name.utf8.count > maxLength { return "topic name is longer than \(maxLength) characters" }
        for c in name.utf8 {
            let ok = (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c == 46 || c == 95 || c == 45
            if !ok { return "topic name '\(name)' contains a character other than ASCII alphanumerics, '.', '_' and '-'" }
        }
        return nil
    }
}
