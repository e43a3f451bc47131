using Fusion.Runtime;

namespace Fusion.Tests;

/// <summary>L1's write stripes: keys that differ anywhere spread over every stripe.</summary>
public sealed class MemoryLevelTests
{
    [Theory]
    [InlineData("product:{0}")]          // differ at the end
    [InlineData("{0}:product")]          // at the start
    [InlineData("user:{0}:profile:v2")]  // in the middle, between whole 4-char words
    [InlineData("k{0}")]                 // short keys, no whole word
    public void StripeIndex_SpreadsKeysEvenly(string pattern)
    {
        const int keys = 6400; // 100 a stripe on average
        var perStripe = new int[64];

        for (var i = 0; i < keys; i++) perStripe[MemoryLevel.StripeIndex(string.Format(pattern, i))]++;

        // A fair spread lands near 100 each (a binomial's deviation is ~10); a weak hash piles keys up.
        Assert.All(perStripe, n => Assert.InRange(n, 55, 150));
    }

    [Fact]
    public void StripeIndex_IsTheSameForEqualKeys_AndInRange()
    {
        var a = MemoryLevel.StripeIndex("order:" + 17);
        var b = MemoryLevel.StripeIndex("order:17");

        Assert.Equal(a, b);
        Assert.InRange(MemoryLevel.StripeIndex("x"), 0, 63);
    }
}
