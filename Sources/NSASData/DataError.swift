/// A problem with data files, naming the file and what is wrong with it.
public enum DataError: Error, CustomStringConvertible, Equatable {
    case missing(path: String, hint: String)
    case unreadable(path: String, reason: String)
    case format(path: String, reason: String)
    case unknownLayout(path: String)
    case empty(String)

    public var description: String {
        switch self {
        case .missing(let p, let h): return "\(p): not found; \(h)"
        case .unreadable(let p, let r): return "\(p): cannot read: \(r)"
        case .format(let p, let r): return "\(p): \(r)"
        case .unknownLayout(let p):
            return "\(p): no dataset found; expected CIFAR-10 (data_batch_1.bin ... test_batch.bin), CIFAR-100 (train.bin, test.bin) or IDX files (train-images-idx3-ubyte[.gz], ...), or 'default'"
        case .empty(let m): return "empty dataset: \(m)"
        }
    }
}
