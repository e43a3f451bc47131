using System.Text;
using Fusion.Distributed;

namespace Fusion.Tests.Distributed;

/// <summary>Keys as bytes for Redis and the backplane: one-to-one, lone surrogates included (docs/wire-format.md).</summary>
public sealed class KeyCodecTests
{
    [Theory]
    [InlineData("plain")]
    [InlineData("ünïcödé ✓ 🚀")]
    [InlineData("k\uD800")]
    [InlineData("\uDC00k")]
    [InlineData("")]
    public void EveryKey_RoundTrips(string key)
    {
        Assert.True(KeyCodec.TryDecode(KeyCodec.Encode(key), out var back));
        Assert.Equal(key, back);
    }

    [Fact]
    public void KeysThatDifferOnlyInLoneSurrogates_GetDifferentBytes()
    {
        var first = KeyCodec.Encode("k\uD800");
        var second = KeyCodec.Encode("k\uD801");
        Assert.NotEqual(Convert.ToHexString(first), Convert.ToHexString(second));
    }

    [Fact]
    public void AWellFormedKey_IsPlainUtf8_AfterThePrefix()
    {
        var bytes = KeyCodec.Encode("ké", "p:"u8);
        Assert.Equal(Encoding.UTF8.GetBytes("p:ké"), bytes);
    }
}
