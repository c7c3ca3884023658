import Testing
@testable import ScenarioKit
