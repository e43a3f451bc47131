namespace Fusion; /// <summary>x</summary>
public static class X {}
