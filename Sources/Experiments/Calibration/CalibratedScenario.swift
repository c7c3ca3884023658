import Foundation
import Procedures
import ScenarioKit

/// The scenario a calibration hands back: the input scenario's text with the fitted values as
/// `instrument:` keys (`timing.image_overhead: 2.43 s`), so `obsim run` takes it as it is. Only the
/// `instrument:` block changes — comments and every other line are kept — and the result is validated
/// and read back before it is written, so a file that `obsim run` would refuse is never produced.
public enum CalibratedScenario {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// `values`: scenario key → seconds, in the order to write them.
    public static func text(base: String, file: String, values: [(key: String, seconds: Double)], note: String) throws -> String {
        var lines = base.components(separatedBy: "\n")
        if lines.last == "" { lines.removeLast() }
        let keys = Set(values.map(\.key))
        let header = lines.firstIndex { $0.hasPrefix("instrument:") }
        var indent = "  "
        var insertAt: Int
        if let header {
            let rest = lines[header].dropFirst("instrument:".count).trimmingCharacters(in: .whitespaces)
            guard rest.isEmpty || rest.hasPrefix("#") else {
                throw Failure(description: "\(file):\(header + 1): `instrument:` is written inline; give it as a block mapping to calibrate")
            }
            var end = header + 1
            var block: [Int] = []
            while end < lines.count {
                let l = lines[end]
                let trimmed = l.trimmingCharacters(in: .whitespaces)
                if !trimmed.isEmpty && !l.hasPrefix(" ") && !l.hasPrefix("\t") { break }
                if !trimmed.isEmpty && !trimmed.hasPrefix("#") { block.append(end) }
                end += 1
            }
            if let first = block.first { indent = String(lines[first].prefix { $0 == " " }) }
            // Drop the lines that set a key the calibration writes (a dotted key at the block's indent).
            let drop = Set(block.filter { i in
                let l = lines[i]
                guard l.hasPrefix(indent), !l.dropFirst(indent.count).hasPrefix(" ") else { return false }
                let key = l.dropFirst(indent.count).split(separator: ":", maxSplits: 1).first.map(String.init) ?? ""
                return keys.contains(key.trimmingCharacters(in: .whitespaces))
            })
            insertAt = (block.last.map { $0 + 1 } ?? header + 1) - drop.filter { $0 < (block.last ?? header) + 1 }.count
            lines = lines.enumerated().filter { !drop.contains($0.offset) }.map(\.element)
        } else {
            lines.append("instrument:")
            insertAt = lines.count
        }
        // Its own name, so its report folder does not replace the uncalibrated study's.
        if let n = lines.firstIndex(where: { $0.hasPrefix("name:") }) {
            let name = lines[n].dropFirst("name:".count).trimmingCharacters(in: .whitespaces)
            if !name.isEmpty && !name.hasPrefix("#") && !name.hasSuffix("-calibrated") { lines[n] = "name: \(name)-calibrated" }
        }
        let added = ["\(indent)# \(note)"] + values.map { "\(indent)\($0.key): \(format($0.seconds)) s" }
        lines.insert(contentsOf: added, at: insertAt)
        let text = lines.joined(separator: "\n") + "\n"
        let scenario: Scenario
        do {
            scenario = try ScenarioLoader.parse(text, file: file)
        } catch let e as ScenarioErrors {
            throw Failure(description: "the calibrated scenario does not validate:\n\(e.description)")
        }
        for (key, seconds) in values {
            guard let read = scenario.configuration.instrument.values[key]?.numericValue, read == Double(format(seconds)) else {
                throw Failure(description: "the calibrated scenario does not carry \(key) = \(format(seconds)) s (a nested `instrument:` mapping sets it otherwise)")
            }
        }
        return text
    }

    /// Six significant digits: what a planner reads, and enough to reproduce the fit's simulation.
    public static func format(_ v: Double) -> String {
        var s = String(format: "%.6g", v)
        if s.contains("e") { s = String(format: "%.6f", v) }
        return s
    }
}
