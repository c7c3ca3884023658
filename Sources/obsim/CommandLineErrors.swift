import ArgumentParser
import Foundation
import Observatory
import Procedures
import ScenarioKit

/// Runs a command and reports a failure as one line on standard error, with a non-zero exit code:
/// `obsim: <what was wrong>`. Help and version requests print in full as usual.
enum CommandLineRunner {
    static func main<Root: ParsableCommand>(_ root: Root.Type, arguments: [String]? = nil) -> Never {
        do {
            var command = try root.parseAsRoot(arguments)
            try command.run()
            exit(0)
        } catch {
            let code = root.exitCode(for: error)
            if code == .success {
                print(root.fullMessage(for: error))
                exit(0)
            }
            var message = root.message(for: error).trimmingCharacters(in: .whitespacesAndNewlines)
            if let newline = message.firstIndex(of: "\n") { message = String(message[..<newline]) }
            FileHandle.standardError.write(Data("obsim: \(message)\n".utf8))
            exit(code.rawValue == 0 ? 1 : code.rawValue)
        }
    }
}

/// Parsers for numeric options whose errors say what is allowed (ArgumentParser's own say only that the
/// value is invalid). Use with `@Option(transform: Parse.int(min: 1))`.
enum Parse {
    struct Invalid: Error, CustomStringConvertible {
        let description: String
    }

    static func int(min: Int? = nil, max: Int? = nil) -> @Sendable (String) throws -> Int {
        { text in
            guard let v = Int(text.trimmingCharacters(in: .whitespaces)) else {
                throw Invalid(description: "expected an integer\(allowed(min, max)), got '\(text)'")
            }
            if let min, v < min { throw Invalid(description: "must be\(range(min, max)), got \(v)") }
            if let max, v > max { throw Invalid(description: "must be\(range(min, max)), got \(v)") }
            return v
        }
    }

    static func double(min: Double? = nil, max: Double? = nil, exclusiveMin: Bool = false) -> @Sendable (String) throws -> Double {
        { text in
            guard let v = Double(text.trimmingCharacters(in: .whitespaces)), v.isFinite else {
                throw Invalid(description: "expected a finite number\(allowed(min, max, exclusiveMin)), got '\(text)'")
            }
            if let min, exclusiveMin ? v <= min : v < min {
                throw Invalid(description: "must be\(range(min, max, exclusiveMin)), got \(v)")
            }
            if let max, v > max { throw Invalid(description: "must be\(range(min, max, exclusiveMin)), got \(v)") }
            return v
        }
    }

    /// A quantity the way a scenario writes it (`10 deg`, `10deg`, `-5deg`, `600 arcmin`), or a bare number
    /// in the option's documented unit (`10`), so the command line and YAML accept the same spellings.
    /// `extraUnits` adds spellings the scenario grammar has no dimension for (deg/s² for an acceleration).
    static func quantity(_ dimension: UnitDimension?, unit: String, extraUnits: [String] = [], min: Double? = nil, max: Double? = nil,
                         exclusiveMin: Bool = false) -> @Sendable (String) throws -> Double {
        { text in
            let t = text.trimmingCharacters(in: .whitespaces)
            var value = QuantityParser.plainNumber(t)
            if value == nil, let dimension, case .success(let v) = QuantityParser.parse(t, dimension) { value = v }
            if value == nil {
                for u in [unit] + extraUnits where t.hasSuffix(u) {
                    if let v = QuantityParser.plainNumber(String(t.dropLast(u.count)).trimmingCharacters(in: .whitespaces)) { value = v; break }
                }
            }
            guard let v = value else {
                let units = (dimension?.symbols ?? [unit]) + extraUnits
                throw Invalid(description: "expected a number with a unit (\(units.joined(separator: ", "))) or a bare number in \(unit)\(allowed(min, max, exclusiveMin)), got '\(text)'")
            }
            if let min, exclusiveMin ? v <= min : v < min { throw Invalid(description: "must be\(range(min, max, exclusiveMin)) \(unit), got \(NumberText.shortest(v)) \(unit)") }
            if let max, v > max { throw Invalid(description: "must be\(range(min, max, exclusiveMin)) \(unit), got \(NumberText.shortest(v)) \(unit)") }
            return v
        }
    }

    /// A band as the documents write it: `L'`, `M'` (or the prime sign ′), a LATISS filter name
    /// (`SDSSr_65mm`), any letter case.
    static func band(_ text: String) -> Band? {
        let t = text.trimmingCharacters(in: .whitespaces)
        if let b = Band(rawValue: t) { return b }
        let primes = t.replacingOccurrences(of: "′", with: "'").replacingOccurrences(of: "'", with: "p")
        let stem = primes.split(separator: "_").first.map(String.init) ?? primes
        return Band.allCases.first { $0.rawValue.lowercased() == stem.lowercased() }
    }

    /// A built-in site or one of the scenario's aliases (`rubin`, `auxtel`, `elt`, `armazones`).
    static func siteName(_ text: String) -> String {
        BuiltInSites.aliases[text.lowercased()] ?? text.lowercased()
    }

    private static func range<T: Comparable & CustomStringConvertible>(_ min: T?, _ max: T?, _ exclusiveMin: Bool = false) -> String {
        switch (min, max) {
        case let (lo?, hi?): return " between \(lo) and \(hi)"
        case let (lo?, nil): return exclusiveMin ? " greater than \(lo)" : " at least \(lo)"
        case let (nil, hi?): return " at most \(hi)"
        case (nil, nil): return ""
        }
    }

    private static func allowed<T: Comparable & CustomStringConvertible>(_ min: T?, _ max: T?, _ exclusiveMin: Bool = false) -> String {
        let r = range(min, max, exclusiveMin)
        return r.isEmpty ? "" : " (\(r.dropFirst()))"
    }
}
