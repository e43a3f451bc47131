namespace Fusion.Bench;

/// <summary>
/// A deterministic Zipf-distributed trace of key indexes: rank k (1-based) is drawn with probability
/// proportional to 1/k^s. Ranks are mapped to key indexes by a seeded shuffle, so the hottest keys are
/// not the first strings of the key set.
/// </summary>
internal static class ZipfTrace
{
    /// <summary>Strings <c>key:0</c> … <c>key:{count-1}</c>, created once so that a trace allocates no key.</summary>
    public static string[] Keys(int count)
    {
        var keys = new string[count];
        for (var i = 0; i < count; i++) keys[i] = "key:" + i;
        return keys;
    }

    /// <summary><paramref name="length"/> draws over <paramref name="keyCount"/> keys with exponent <paramref name="exponent"/>.</summary>
    public static int[] Create(int keyCount, double exponent, int length, int seed)
    {
        var cumulative = new double[keyCount];
        var sum = 0.0;
        for (var k = 0; k < keyCount; k++)
        {
            sum += 1.0 / Math.Pow(k + 1, exponent);
            cumulative[k] = sum;
        }

        var random = new Random(seed);
        var keyOfRank = Enumerable.Range(0, keyCount).ToArray();
        random.Shuffle(keyOfRank);
        var trace = new int[length];
        for (var i = 0; i < length; i++)
        {
            var rank = Array.BinarySearch(cumulative, random.NextDouble() * sum);
            trace[i] = keyOfRank[Math.Min(rank < 0 ? ~rank : rank, keyCount - 1)];
        }
        return trace;
    }
}
