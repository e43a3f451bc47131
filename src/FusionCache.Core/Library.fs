namespace Fusion.Core
/// placeholder
type X = int
