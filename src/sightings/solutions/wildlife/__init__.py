"""Wildlife photo-ID: species gate, enrol/predict/review service, drift, sinks and Darwin Core export.

service.WildlifeService   enrol individuals, predict who is in a photo, review predictions
gate                      reason codes + human sentences for photos that are not usable
store.WildlifeStore       species, predictions and the review audit log in the catalog's database
drift                     rolling confidence, rejection rate, PSI/KS of embedding projections
export                    CSV and Darwin Core occurrence CSV
"""
