import Testing
@testable import Observatory
