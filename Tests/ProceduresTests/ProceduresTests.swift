import Testing
@testable import Procedures
