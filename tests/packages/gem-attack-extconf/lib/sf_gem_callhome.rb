module SfGemCallhome; end
