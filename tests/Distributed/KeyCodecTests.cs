using System.Text;
using Fusion.Distributed;

namespace Fusion.Tests.Distributed;

/// <summary>Keys as bytes for Redis and the backplane: one-to-one, lone surrogates included (docs/wire-format.md).</summary>
public sealed class KeyCodecTests
{
    // Built here, not in attributes: xUnit's theory data turns a lone surrogate into U+FFFD before the test runs.
    private static readonly string[] Keys = ["plain", "ünïcödé ✓ 🚀", "k" + (char)0xD800, (char)0xDC00 + "k", "a" + (char)0xDBFF + (char)0xDBFF, ""];

    [Fact]
    public void EveryKey_RoundTrips_LoneSurrogatesIncluded()
    {
        foreach (var key in Keys)
        {
            Assert.True(KeyCodec.TryDecode(KeyCodec.Encode(key), out var back), $"{Convert.ToHexString(System.Text.Encoding.Unicode.GetBytes(key))} did not decode");
            Assert.True(string.Equals(key, back, StringComparison.Ordinal), $"a key came back as another: {key.Length} chars, {back.Length} back");
        }
    }

    [Fact]
    public void KeysThatDifferOnlyInLoneSurrogates_GetDifferentBytes()
    {
        var first = KeyCodec.Encode("k" + (char)0xD800);
        var second = KeyCodec.Encode("k" + (char)0xD801);
        Assert.NotEqual(Convert.ToHexString(first), Convert.ToHexString(second));
    }

    [Fact]
    public void AWellFormedKey_IsPlainUtf8_AfterThePrefix()
    {
        var bytes = KeyCodec.Encode("ké", "p:"u8);
        Assert.Equal(Encoding.UTF8.GetBytes("p:ké"), bytes);
    }
}
