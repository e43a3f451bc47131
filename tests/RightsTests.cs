using Fusion.Runtime;
using LanguageExt;

namespace Fusion.Tests;

/// <summary>The direct Right of cached values: the same Either as LanguageExt's own constructor.</summary>
public sealed class RightsTests
{
    [Fact]
    public void TheDirectPath_WorksWithThePinnedLanguageExt_UnlessTurnedOff() =>
        Assert.Equal(Environment.GetEnvironmentVariable("FUSION_PUBLIC_RIGHT") != "1", Rights.Direct);

    [Fact]
    public void Of_IsTheSameEitherAsRight_ForReferenceAndValueTypes()
    {
        var text = Rights.Of("value");
        var number = Rights.Of(42);
        var absent = Rights.Of(Option<string>.None);

        Assert.Equal(Either<Err, string>.Right("value"), text);
        Assert.True(text.IsRight && !text.IsLeft && !text.IsBottom);
        Assert.Equal("value", text.IfLeft(""));
        Assert.Equal(Either<Err, int>.Right(42), number);
        Assert.Equal(42, number.IfLeft(0));
        Assert.True(absent.IsRight);
        Assert.Equal("Right(value)", text.ToString());
    }
}
