module SfGemTwopaths
  WORDS = %w[nothing to see in the first require path].freeze
end
