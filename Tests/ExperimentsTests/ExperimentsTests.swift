import Testing
@testable import Experiments
