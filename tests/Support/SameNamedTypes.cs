// Two types with the same short name, for the WrongType error (it names types in full).
namespace Fusion.Tests.Shop
{
    public sealed class Product;
}

namespace Fusion.Tests.Warehouse
{
    public sealed class Product;
}
