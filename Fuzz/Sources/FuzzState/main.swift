import Experiments
import Foundation
import FuzzDriver
import Reporting

// A part's state.json as `obsim merge` reads it; what passes validation is merged with itself shifted
// out of the way and turned into summary.json and summary.md, so a state that validates but breaks the
// statistics downstream is a finding too.
runFuzzer { data in
    guard let state = try? StateFile.read(data: data, name: "fuzz/state.json") else { return }
    _ = try? StudyMerge.merge([state])
    _ = SummaryJSON.json(state).text()
    _ = SummaryMarkdown.text(state, description: "")
}
